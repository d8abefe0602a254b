"""Device selection."""

from __future__ import annotations

import pytest
import torch

from moodboard.core.errors import DependencyError
from moodboard.embed.device import available_devices, resolve_device_name, select_device


def test_cpu_always_available() -> None:
    assert available_devices()[-1] == "cpu"
    assert select_device("cpu") == torch.device("cpu")


def test_auto_picks_the_best_available() -> None:
    assert resolve_device_name("auto") == available_devices()[0]


def test_unknown_device_name() -> None:
    with pytest.raises(DependencyError, match="unknown device"):
        resolve_device_name("tpu")


def test_missing_accelerator_is_a_clear_error() -> None:
    missing = [d for d in ("cuda", "mps", "neuron") if d not in available_devices()]
    if not missing:
        pytest.skip(reason="every accelerator kind is present on this machine")
    with pytest.raises(DependencyError, match="not available"):
        select_device(missing[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU")
def test_cuda_selected_when_present() -> None:
    assert select_device("cuda").type == "cuda"
    assert resolve_device_name("auto") == "cuda"
