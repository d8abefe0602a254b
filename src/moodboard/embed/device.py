"""Device selection for the embedding towers: cpu, cuda, mps, or AWS Neuron when torch-neuronx imports.

Tested combinations (see tests/embed/test_device.py): cpu everywhere; cuda on a single NVIDIA GPU when one
is available. mps and neuron follow the documented torch APIs but are not exercised in CI.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Literal

from moodboard.core.errors import DependencyError

if TYPE_CHECKING:
    import torch

DeviceName = Literal["auto", "cpu", "cuda", "mps", "neuron"]


def neuron_available() -> bool:
    """Return True when torch-neuronx (AWS Inferentia/Trainium) can be imported."""
    return importlib.util.find_spec("torch_neuronx") is not None


def available_devices() -> list[str]:
    """List the device kinds usable in this process, best first."""
    import torch

    found: list[str] = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    if neuron_available():
        found.append("neuron")
    found.append("cpu")
    return found


def resolve_device_name(requested: DeviceName | str) -> str:
    """Turn a requested device ("auto" or a kind) into a concrete kind, checking that it exists.

    Raises:
        DependencyError: the requested device is not available here.
    """
    have = available_devices()
    if requested == "auto":
        return have[0]
    if requested not in {"cpu", "cuda", "mps", "neuron"}:
        raise DependencyError(f"unknown device {requested!r}", "use one of auto, cpu, cuda, mps, neuron")
    if requested not in have:
        raise DependencyError(
            f"device {requested!r} is not available on this machine (found: {', '.join(have)})",
            "set MOODBOARD_EMBED__DEVICE=auto or cpu",
        )
    return requested


def select_device(requested: DeviceName | str = "auto") -> torch.device:
    """Return the torch device for `requested`; neuron maps to the XLA device of torch-neuronx."""
    import torch

    name = resolve_device_name(requested)
    if name == "neuron":
        import torch_xla.core.xla_model as xm  # type: ignore[import-not-found]  # only with torch-neuronx

        device: torch.device = xm.xla_device()
        return device
    return torch.device(name)
