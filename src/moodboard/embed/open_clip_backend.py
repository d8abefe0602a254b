"""The `open_clip` backend: any open_clip model (CLIP, SigLIP, ...) by name + pretrained tag, or local.

`checkpoint` may name a folder in open_clip's `local-dir` layout (`open_clip_config.json` + weights, as
`save_open_clip_folder` writes) or a weights file for `model`. With `open_clip_adapter`, a LiT aligner
trained on this model's frozen features (`moodboard train align`) adapts it to the catalog's domain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodboard.core.arrays import FloatArray
from moodboard.core.errors import ConfigError, DependencyError, SnapshotError
from moodboard.core.layout import HomeLayout
from moodboard.embed.aligned import TowerEmbedder
from moodboard.embed.aligner import load_current_aligner
from moodboard.embed.device import select_device
from moodboard.embed.feature_cache import FeatureCache

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from moodboard.core.settings import EmbedSettings


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


class OpenClipModel:
    """A loaded open_clip model with its preprocessing and tokenizer, frozen, on one device."""

    def __init__(self, model: str, pretrained: str, checkpoint: str, device: torch.device) -> None:
        """Load by name + tag, or from a local folder/file given in `checkpoint`."""
        try:
            import open_clip
        except ImportError as exc:  # pragma: no cover - dependency is in pyproject
            raise DependencyError("the open_clip backend needs open-clip-torch", "pip install open-clip-torch") from exc
        self.device = device
        path = Path(checkpoint).expanduser() if checkpoint else None
        try:
            if path is not None and path.is_dir():
                name, tag = f"local-dir:{path}", None
                self.name = f"local:{path.name}:{_file_digest(path)}"
            elif path is not None:
                if not path.is_file():
                    raise ConfigError(
                        f"open_clip checkpoint {path} does not exist",
                        "set MOODBOARD_EMBED__CHECKPOINT to a weights file or a local-dir folder",
                    )
                name, tag = model, str(path)
                self.name = f"{model}:{_file_digest(path)}"
            else:
                name, tag = model, pretrained or None
                self.name = f"{model}:{pretrained}"
            net, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=tag, device=device)
            self.tokenizer = open_clip.get_tokenizer(name)
        except (RuntimeError, ValueError, FileNotFoundError, OSError) as exc:
            raise SnapshotError(
                f"cannot load open_clip model {model!r} ({pretrained or checkpoint}): {exc}",
                "check the model name and pretrained tag (open_clip.list_pretrained()), or point "
                "MOODBOARD_EMBED__CHECKPOINT at a local checkpoint; downloads need internet",
            ) from exc
        self.net = net.eval().requires_grad_(False)
        self.preprocess = preprocess
        self.dim = int(self.encode_texts(["probe"]).shape[1])

    def encode_images(self, batch: Sequence[FloatArray]) -> FloatArray:
        """(n, 3, H, W) prepared inputs → (n, d) unit vectors."""
        import torch

        x = torch.from_numpy(np.stack(batch)).to(self.device)
        with torch.inference_mode():
            z = self.net.encode_image(x, normalize=True)
        return np.ascontiguousarray(z.float().cpu().numpy(), dtype=np.float32)

    def encode_texts(self, texts: Sequence[str]) -> FloatArray:
        """Texts → (n, d) unit vectors."""
        import torch

        tokens = self.tokenizer(list(texts)).to(self.device)
        with torch.inference_mode():
            z = self.net.encode_text(tokens, normalize=True)
        return np.ascontiguousarray(z.float().cpu().numpy(), dtype=np.float32)


class OpenClipImageTower:
    """The image side of an open_clip model, seen as a frozen tower."""

    groups: tuple[tuple[str, int], ...]

    def __init__(self, clip: OpenClipModel) -> None:
        """Wrap the image encoder of `clip`."""
        self.clip = clip
        self.tower_id = f"open_clip-image:{clip.name}"
        self.dim = clip.dim
        self.groups = (("embedding", clip.dim),)

    def prepare(self, image: Image.Image) -> FloatArray:
        """Apply the model's own preprocessing; returns (3, H, W)."""
        out: Any = self.clip.preprocess(image.convert("RGB"))
        return np.ascontiguousarray(out.numpy(), dtype=np.float32)

    def features(self, batch: Sequence[FloatArray]) -> FloatArray:
        """(n, dim) normalised image embeddings."""
        if len(batch) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.clip.encode_images(batch)


class OpenClipTextTower:
    """The text side of an open_clip model, seen as a frozen tower."""

    groups: tuple[tuple[str, int], ...]

    def __init__(self, clip: OpenClipModel) -> None:
        """Wrap the text encoder of `clip`."""
        self.clip = clip
        self.tower_id = f"open_clip-text:{clip.name}"
        self.dim = clip.dim
        self.groups = (("embedding", clip.dim),)

    def features(self, texts: Sequence[str]) -> FloatArray:
        """(n, dim) normalised text embeddings."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.clip.encode_texts(texts)


def open_clip_towers(settings: EmbedSettings) -> tuple[OpenClipImageTower, OpenClipTextTower]:
    """Load the configured open_clip model and return its two towers."""
    clip = OpenClipModel(settings.model, settings.pretrained, settings.checkpoint, select_device(settings.device))
    return OpenClipImageTower(clip), OpenClipTextTower(clip)


def create_open_clip(settings: EmbedSettings, snapshots_dir: Path) -> TowerEmbedder:
    """Factory of the `open_clip` backend (with the trained adapter when `open_clip_adapter` is set)."""
    image_tower, text_tower = open_clip_towers(settings)
    cache_dir = HomeLayout.of_snapshots(snapshots_dir).cache
    cache = FeatureCache(cache_dir / "features.sqlite") if settings.feature_cache else None
    if settings.open_clip_adapter:
        aligner = load_current_aligner(
            snapshots_dir, image_tower.tower_id, text_tower.tower_id, version=settings.aligner_version
        )
        model_id, dim = f"open_clip:{image_tower.clip.name}+aligner:{aligner.version}", aligner.dim
    else:
        aligner, model_id, dim = None, f"open_clip:{image_tower.clip.name}", image_tower.dim
    return TowerEmbedder(
        model_id=model_id,
        dim=dim,
        image_tower=lambda: image_tower,
        text_tower=lambda: text_tower,
        aligner=aligner,
        cache=cache,
        batch_size=settings.batch_size,
    )


def save_open_clip_folder(model: Any, model_cfg: dict[str, Any], folder: Path) -> Path:
    """Write an open_clip model in the `local-dir` layout (config + weights) and return the folder."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": model_cfg}, indent=2))
    torch.save(model.state_dict(), folder / "open_clip_pytorch_model.bin")
    return folder
