"""Which embedding model runs, and how."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class EmbedSettings(BaseModel):
    """Which embedding model to use and how to run it."""

    backend: str = Field(
        "lite",
        pattern=r"^[A-Za-z0-9_.:-]{1,100}$",
        description="embedding backend: lite, open_clip, fake or any name given to `embed.register_backend` "
        "(checked against the registry when the embedder is built)",
    )
    model: str = "ViT-B-32"
    pretrained: str = "laion2b_s34b_b79k"
    checkpoint: str = ""
    device: Literal["auto", "cpu", "cuda", "mps", "neuron"] = "auto"
    batch_size: int = Field(64, ge=1, le=4096)
    dim: int = Field(256, ge=8, le=4096, description="output dimension of the lite adapters")
    aligner_version: str = Field("", description="aligner snapshot to use; empty = the current one")
    open_clip_adapter: bool = Field(False, description="apply a trained aligner on top of open_clip")
    feature_cache: bool = Field(True, description="cache frozen-tower features by content hash")
    workers: int = Field(0, ge=0, le=256, description="image decode threads; 0 = number of CPUs")
    runtime: Literal["torch", "onnx"] = Field(
        "onnx", description="what runs the lite towers on the CPU: ONNX Runtime (faster, see BENCHMARKS.md) or torch"
    )
    threads: int = Field(
        0,
        ge=0,
        le=256,
        description="threads of the CPU model runtime per process; 0 = all cores (`serve` gives "
        "each worker its share, so idle runtime threads never spin on another worker's core)",
    )
    onnx_cache: str = Field(
        "", description="folder of the exported ONNX towers; empty = $XDG_CACHE_HOME/moodboard/onnx (or ~/.cache)"
    )
