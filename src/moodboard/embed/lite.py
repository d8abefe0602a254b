"""The offline default backend `lite`: EfficientNet-Lite0 + MiniLM, frozen, with trained aligner heads."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from moodboard.core.layout import HomeLayout
from moodboard.embed.aligned import TowerEmbedder
from moodboard.embed.aligner import load_current_aligner
from moodboard.embed.device import select_device
from moodboard.embed.feature_cache import FeatureCache
from moodboard.embed.towers import EfficientNetLiteTower, MiniLMTextTower

if TYPE_CHECKING:
    from moodboard.core.settings import EmbedSettings
    from moodboard.embed.towers import ImageTower, TextTower


def feature_cache_path(snapshots_dir: Path) -> Path:
    """Where the frozen-tower feature cache lives for a moodboard home (beside the snapshots)."""
    return HomeLayout.of_snapshots(snapshots_dir).feature_cache


def lite_towers(device: str = "auto") -> tuple[EfficientNetLiteTower, MiniLMTextTower]:
    """Load both frozen lite towers on the selected device."""
    dev = select_device(device)
    return EfficientNetLiteTower(dev), MiniLMTextTower(dev)


def lite_runtime_towers(settings: EmbedSettings, snapshots_dir: Path) -> tuple[ImageTower, TextTower]:
    """Both frozen lite towers on the configured device and runtime (ONNX Runtime on a CPU: the same
    features as torch within 1e-3, measured 4x faster per image, BENCHMARKS.md "CPU inference runtime")."""
    return lite_image_tower(settings, snapshots_dir), lite_text_tower(settings, snapshots_dir)


def lite_image_tower(settings: EmbedSettings, snapshots_dir: Path, threads: int | None = None) -> ImageTower:
    """The lite image tower on the configured device and runtime (ONNX Runtime only runs on the CPU)."""
    dev = select_device(settings.device)
    if settings.runtime == "onnx" and dev.type == "cpu":
        from moodboard.embed.onnx_towers import OnnxLiteImageTower, onnx_cache_dir

        return OnnxLiteImageTower(onnx_cache_dir(settings.onnx_cache, snapshots_dir), _threads(settings, threads))
    return EfficientNetLiteTower(dev)


def lite_text_tower(settings: EmbedSettings, snapshots_dir: Path, threads: int | None = None) -> TextTower:
    """The lite text tower on the configured device and runtime (ONNX Runtime only runs on the CPU)."""
    dev = select_device(settings.device)
    if settings.runtime == "onnx" and dev.type == "cpu":
        from moodboard.embed.onnx_towers import OnnxMiniLMTextTower, onnx_cache_dir

        return OnnxMiniLMTextTower(onnx_cache_dir(settings.onnx_cache, snapshots_dir), _threads(settings, threads))
    return MiniLMTextTower(dev)


def _threads(settings: EmbedSettings, threads: int | None) -> int:
    """Runtime threads: the caller's count, else the settings' (0 = the runtime's own default)."""
    return settings.threads if threads is None else threads


def create_lite(settings: EmbedSettings, snapshots_dir: Path) -> TowerEmbedder:
    """Factory of the `lite` backend.

    Raises:
        SnapshotError: no aligner was trained yet (hint: run `moodboard train align`).
    """
    aligner = load_current_aligner(
        snapshots_dir,
        EfficientNetLiteTower.tower_id,
        MiniLMTextTower.tower_id,
        version=settings.aligner_version,
    )
    cache = FeatureCache(feature_cache_path(snapshots_dir)) if settings.feature_cache else None
    return TowerEmbedder(
        model_id=f"lite:{aligner.version}:{aligner.dim}",
        dim=aligner.dim,
        image_tower=lambda: lite_image_tower(settings, snapshots_dir),
        text_tower=lambda: lite_text_tower(settings, snapshots_dir),
        aligner=aligner,
        cache=cache,
        batch_size=settings.batch_size,
    )
