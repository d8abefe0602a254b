"""Fixtures of the kill -9 tests: one fork server for the whole session, a tiny open_clip model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hardening.kill_harness import ForkServer


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    """The CLI fork server (imports torch and the CLI once for every kill test)."""
    srv = ForkServer(tmp_path_factory.mktemp("forks"))
    yield srv
    srv.close()


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random open_clip model in the local-dir layout: `train align` on it takes a second, where the
    lite towers take minutes per run on a shared 2-core box (the job's code path is the same)."""
    import open_clip
    import torch

    from moodboard.embed.open_clip_backend import save_open_clip_folder

    torch.manual_seed(0)
    cfg = {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    }
    return save_open_clip_folder(open_clip.CLIP(**cfg), cfg, tmp_path_factory.mktemp("clip") / "tiny-clip")
