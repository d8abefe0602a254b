"""LiT-style aligner: two small projection heads that put frozen image and text features in one space.

Locked-image tuning (Zhai et al., CVPR 2022): the towers stay frozen, only the heads learn, with a
symmetric contrastive (InfoNCE) loss and a learned temperature, as in CLIP. The same heads work on any
pair of frozen towers (the offline `lite` towers or an open_clip model, for domain adaptation).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodboard.core.arrays import FloatArray
from moodboard.core.errors import SnapshotError
from moodboard.core.snapshot import current_snapshot, verify_snapshot
from moodboard.embed.aligner_spec import AlignerConfig, AlignerSpec, extra_slice

if TYPE_CHECKING:
    import torch

    from moodboard.embed.heads import AlignerHeads

__all__ = [
    "ALIGNER_KIND",
    "Aligner",
    "AlignerConfig",
    "AlignerSpec",
    "build_heads",
    "extra_slice",
    "load_current_aligner",
]

ALIGNER_KIND = "aligner"
_WEIGHTS = "heads.pt"
_CONFIG = "aligner.json"


def build_heads(spec: AlignerSpec) -> AlignerHeads:
    """Create untrained heads for `spec` (an `AlignerHeads` module)."""
    from moodboard.embed.heads import AlignerHeads

    return AlignerHeads(spec)


class Aligner:
    """Trained heads ready for inference: frozen features in, L2-normalised joint vectors out."""

    def __init__(self, spec: AlignerSpec, heads: AlignerHeads, version: str = "unsaved") -> None:
        """Wrap trained `heads` built for `spec`; `version` names the snapshot it came from."""
        self.spec = spec
        heads.eval()
        self.heads = heads
        self.version = version

    @property
    def dim(self) -> int:
        """Output dimension: the joint space plus the image-only block."""
        return self.spec.config.dim + self.spec.extra_dims

    def _project(self, head: torch.nn.Module, feats: FloatArray, expected: int) -> FloatArray:
        import torch

        if feats.ndim != 2 or feats.shape[1] != expected:
            raise SnapshotError(
                f"aligner expects features of width {expected}, got shape {feats.shape}",
                "retrain the aligner for the current towers with `moodboard train align`",
            )
        if feats.shape[0] == 0:
            return np.zeros((0, self.spec.config.dim), dtype=np.float32)
        with torch.inference_mode():
            out = head(torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32)))
        return np.ascontiguousarray(out.numpy(), dtype=np.float32)

    def project_images(self, feats: FloatArray) -> FloatArray:
        """Map (n, image_dim) tower features to (n, dim) unit vectors.

        With an image-only block, the vector is [joint (d), w * PCA of the raw tower group (k)],
        normalised: text → image ranks are those of the joint part (texts are zero in the block),
        while image → image similarity also uses the raw visual features, which transfer better from
        a person's photo to a catalog packshot than the text-aligned joint space does.
        """
        joint = self._project(self.heads.image, feats, self.spec.image_dim)  # (n, d)
        k = self.spec.extra_dims
        if k == 0:
            return joint
        start, end = self.spec.image_extra
        raw = feats[:, start:end].astype(np.float32)
        raw /= np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)
        mean = self.heads.extra_mean.numpy()
        proj = self.heads.extra_proj.numpy()
        block = (raw - mean) @ proj  # (n, k)
        block /= np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
        out = np.concatenate([joint, self.spec.config.image_extra_weight * block], axis=1)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(out, dtype=np.float32)

    def project_texts(self, feats: FloatArray) -> FloatArray:
        """Map (n, text_dim) tower features to (n, dim) unit vectors (zeros in the image-only block)."""
        joint = self._project(self.heads.text, feats, self.spec.text_dim)
        k = self.spec.extra_dims
        if k == 0:
            return joint
        return np.ascontiguousarray(np.pad(joint, ((0, 0), (0, k))), dtype=np.float32)

    def save(self, folder: Path) -> dict[str, Any]:
        """Write the heads and spec into `folder`; return manifest fields describing them."""
        import torch

        torch.save(self.heads.state_dict(), folder / _WEIGHTS)
        meta = {
            "config": self.spec.config.to_json(),
            "image_tower": self.spec.image_tower,
            "text_tower": self.spec.text_tower,
            "image_dim": self.spec.image_dim,
            "text_dim": self.spec.text_dim,
            "metrics": self.spec.metrics,
            "image_extra": list(self.spec.image_extra),
        }
        (folder / _CONFIG).write_text(json.dumps(meta, indent=2, sort_keys=True))
        return {"aligner": meta}

    @classmethod
    def load(cls, folder: Path) -> Aligner:
        """Load heads saved by `save` from a snapshot folder."""
        import torch

        try:
            meta = json.loads((folder / _CONFIG).read_text())
            spec = AlignerSpec(
                config=AlignerConfig(**meta["config"]),
                image_tower=meta["image_tower"],
                text_tower=meta["text_tower"],
                image_dim=int(meta["image_dim"]),
                text_dim=int(meta["text_dim"]),
                metrics=dict(meta.get("metrics", {})),
                image_extra=tuple(meta.get("image_extra", (0, 0))),  # type: ignore[arg-type]
            )
            heads = build_heads(spec)
            heads.load_state_dict(torch.load(folder / _WEIGHTS, map_location="cpu", weights_only=True))
        except (OSError, KeyError, TypeError, ValueError, RuntimeError, EOFError, pickle.UnpicklingError) as exc:
            raise SnapshotError(
                f"aligner snapshot {folder} is unreadable: {exc}",
                "retrain it with `moodboard train align`",
            ) from exc
        return cls(spec, heads, version=folder.name)


def load_current_aligner(snapshots_dir: Path, image_tower: str, text_tower: str, version: str = "") -> Aligner:
    """Load the named (or current) aligner snapshot and check it was trained on these towers.

    Raises:
        SnapshotError: no aligner was trained yet, or it belongs to other towers.
    """
    if version:
        folder: Path | None = snapshots_dir / ALIGNER_KIND / version
        if not (folder / "manifest.json").is_file():  # type: ignore[operator]
            raise SnapshotError(
                f"aligner snapshot {version!r} not found under {snapshots_dir / ALIGNER_KIND}",
                "run `moodboard train align` or pick an existing version",
            )
    else:
        folder = current_snapshot(snapshots_dir, ALIGNER_KIND)
    if folder is None:
        raise SnapshotError(
            "no trained aligner snapshot: the lite embedder needs projection heads",
            "run `moodboard train align` first (it trains them on the catalog's own images and titles)",
        )
    verify_snapshot(folder)  # refuses a half-written or damaged snapshot (checksums)
    aligner = Aligner.load(folder)
    if aligner.spec.image_tower != image_tower or aligner.spec.text_tower != text_tower:
        raise SnapshotError(
            f"aligner {folder.name} was trained on towers {aligner.spec.image_tower} / "
            f"{aligner.spec.text_tower}, not {image_tower} / {text_tower}",
            "run `moodboard train align` for the configured embedding backend",
        )
    return aligner
