"""The lite towers run by ONNX Runtime: the same features as `towers.py`, exported once and cached on disk.

Each tower's network (EfficientNet-Lite0 with its stage taps; MiniLM with its layer mean-pooling) is
exported from the torch module to ONNX the first time it is needed, into `<cache dir>/<tower>-<hash>.onnx`
(`embed.onnx_cache`; by default the user's cache, shared by every home)
(the hash covers the tower id, torch and the opset, so a new tower version exports again), then loaded
into an `onnxruntime.InferenceSession` on the CPU. The colour histogram of the image tower is not a network
and stays in torch. Tower ids are the torch towers' ids: the features agree within float tolerance (see
tests/embed/test_onnx_towers.py), so the feature cache and aligner snapshots are shared.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodboard.core.arrays import FloatArray
from moodboard.core.errors import DependencyError
from moodboard.core.layout import HomeLayout
from moodboard.embed.towers import (
    _LITE_MEAN,
    _LITE_STD,
    _STAGE_TAPS,
    EfficientNetLiteTower,
    MiniLMTextTower,
    minilm_tokenizer,
)

if TYPE_CHECKING:
    import torch
    from PIL import Image

log = logging.getLogger(__name__)
OPSET = 17


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - dependency is in pyproject
        raise DependencyError(
            "the onnx runtime of the lite towers needs onnxruntime",
            "pip install onnxruntime, or set MOODBOARD_EMBED__RUNTIME=torch",
        ) from exc
    return onnxruntime


def _model_path(cache_dir: Path, tower_id: str) -> Path:
    import torch

    key = hashlib.sha256(f"{tower_id}|torch {torch.__version__}|opset {OPSET}".encode()).hexdigest()[:16]
    safe = tower_id.split(":")[0]
    return cache_dir / f"{safe}-{key}.onnx"


def _export(module: Any, args: tuple[Any, ...], path: Path, names: list[str], dynamic: dict[str, Any]) -> Path:
    """Export `module` to `path` atomically (a half-written file never appears under the final name)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".onnx.tmp")
    os.close(fd)
    log.info("exporting %s to ONNX (once; cached at %s)", names[0], path)
    try:
        # the tracer's warnings are about this export's internals, not the user's data: keep them out of the console
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module, args, tmp, input_names=names, output_names=["features"], dynamic_axes=dynamic,
                opset_version=OPSET, dynamo=False,
            )  # fmt: skip
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _session(path: Path, threads: int) -> Any:
    ort = _ort()
    opts = ort.SessionOptions()
    if threads > 0:
        # a fixed share of the cores (a server worker's): idle pool threads must not spin-wait on a core
        # another worker needs (measured: the default spinning pool doubled a query text's CPU time)
        opts.intra_op_num_threads = threads
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _image_module(net: Any) -> Any:
    import torch

    class LiteFeatures(torch.nn.Module):
        """EfficientNet-Lite0 pooled at five stages and the head: (B, 3, 224, 224) -> (B, dim - 64)."""

        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n = self.net
            h = n._swish(n._bn0(n._conv_stem(x)))  # (B, 32, 112, 112)
            pooled = []
            for i, block in enumerate(n._blocks):
                h = block(h)
                if i in _STAGE_TAPS:
                    pooled.append(h.mean(dim=(2, 3)))  # (B, C_stage)
            h = n._swish(n._bn1(n._conv_head(h)))  # (B, 1280, 7, 7)
            return torch.cat([*pooled, h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)

    return LiteFeatures().eval()


class OnnxLiteImageTower:
    """`EfficientNetLiteTower` with the network run by ONNX Runtime; same `prepare`, same features."""

    tower_id = EfficientNetLiteTower.tower_id
    groups = EfficientNetLiteTower.groups
    dim = EfficientNetLiteTower.dim

    def __init__(self, cache_dir: Path, threads: int = 0) -> None:
        """Export (once) and load the image network; `threads` = 0 lets ONNX Runtime pick."""
        import torch

        path = _model_path(cache_dir, self.tower_id)
        if not path.is_file():
            log.info("exporting the lite image tower to %s", path)
            source = EfficientNetLiteTower(torch.device("cpu"))
            dummy = torch.zeros(2, 3, 224, 224)
            _export(
                _image_module(source.net),
                (dummy,),
                path,
                ["pixels"],
                {"pixels": {0: "batch"}, "features": {0: "batch"}},
            )
        self.path = path
        self.session = _session(path, threads)
        self._prepare = EfficientNetLiteTower.prepare

    def prepare(self, image: Image.Image) -> FloatArray:
        """Letterbox to 224 px and scale to [-1, 1]; returns (3, 224, 224) float32."""
        return self._prepare(self, image)  # type: ignore[arg-type]

    def features(self, batch: Sequence[FloatArray]) -> FloatArray:
        """Return (n, dim) pooled multi-layer features (stage means, head mean/max, colour histogram)."""
        import torch

        from moodboard.embed.towers import _colour_histogram

        if len(batch) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        x = np.ascontiguousarray(np.stack(batch), dtype=np.float32)  # (B, 3, 224, 224)
        (net_out,) = self.session.run(None, {"pixels": x})  # (B, dim - 64)
        with torch.inference_mode():
            hist = _colour_histogram(torch.from_numpy(x) * _LITE_STD + _LITE_MEAN).numpy()  # (B, 64)
        return np.ascontiguousarray(np.concatenate([net_out, hist], axis=1), dtype=np.float32)


def _text_module(model: Any, layers: tuple[int, ...]) -> Any:
    import torch

    class MiniLMFeatures(torch.nn.Module):
        """MiniLM mean-pooled at `layers`, the last one L2-normalised: (B, T) ids + mask -> (B, 384 * L)."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            mask = attention_mask.unsqueeze(-1).float()  # (B, T, 1)
            pooled = [(out.hidden_states[i] * mask).sum(1) / mask.sum(1).clamp_min(1.0) for i in layers]  # (B, 384)
            pooled[-1] = torch.nn.functional.normalize(pooled[-1], dim=-1)
            return torch.cat(pooled, dim=1)  # (B, dim)

    return MiniLMFeatures().eval()


class OnnxMiniLMTextTower:
    """`MiniLMTextTower` with the transformer run by ONNX Runtime; same tokenizer, same features."""

    tower_id = MiniLMTextTower.tower_id
    groups = MiniLMTextTower.groups
    dim = MiniLMTextTower.dim
    layers = MiniLMTextTower.layers
    max_length = MiniLMTextTower.max_length

    def __init__(self, cache_dir: Path, threads: int = 0) -> None:
        """Export (once) and load the text network; `threads` = 0 lets ONNX Runtime pick."""
        self.tokenizer = minilm_tokenizer()  # the torch model is loaded only to export it (4 s, ~100 MB)
        path = _model_path(cache_dir, self.tower_id)
        if not path.is_file():
            import torch

            source = MiniLMTextTower(torch.device("cpu"))
            log.info("exporting the lite text tower to %s", path)
            tok = self.tokenizer(["a export example", "two"], padding=True, return_tensors="pt")
            dynamic = {n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask")}
            _export(
                _text_module(source.model, self.layers), (tok["input_ids"], tok["attention_mask"]), path,
                ["input_ids", "attention_mask"], {**dynamic, "features": {0: "batch"}},
            )  # fmt: skip
        self.path = path
        self.session = _session(path, threads)

    def features(self, texts: Sequence[str]) -> FloatArray:
        """Return (n, dim) mean-pooled hidden states; the final 384 are L2-normalised."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        tok = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
        )
        feeds = {
            "input_ids": tok["input_ids"].astype(np.int64),
            "attention_mask": tok["attention_mask"].astype(np.int64),
        }
        (out,) = self.session.run(None, feeds)
        return np.ascontiguousarray(out, dtype=np.float32)


def onnx_cache_dir(configured: str, snapshots_dir: Path) -> Path:
    """Where exported towers live: `configured`, else the user cache, else beside the home's feature cache.

    The exported files depend only on the packaged weights and torch, not on a catalog, so one export serves
    every moodboard home of a machine.
    """
    if configured:
        return Path(configured).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "moodboard" / "onnx"
    try:
        base.mkdir(parents=True, exist_ok=True)
        if os.access(base, os.W_OK):
            return base
    except OSError:
        pass
    return HomeLayout.of_snapshots(snapshots_dir).onnx_fallback


def torch_device_is_cpu(device: torch.device) -> bool:
    """Whether the towers would run on the CPU (the only place the ONNX runtime is used)."""
    return device.type == "cpu"
