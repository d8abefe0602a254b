"""Region proposals for "shop the look": where the objects in a scene photo are.

A scene (a room, an outfit, a flat lay) holds several products; embedding it as one image retrieves
whatever the whole picture resembles. The classical proposer needs no learnt weights and downloads
nothing. It pools boxes from four cues computed on a small copy of the photo, ranks them by how much
they stand out from their surroundings (down-weighting regions that run along the photo's border:
walls, floors and ceilings are background, Zhu et al., CVPR 2014), suppresses near-duplicates and
always keeps the whole image as a last region, so a photo without separable objects gets an honest
single-region answer:

- colour segments: k-means on Lab colour, connected components per cluster; optionally (off by
  default, it measured worse) selective search's hierarchical grouping of those components
  (Uijlings et al., IJCV 2013: merge the most similar neighbours by colour histogram, size and fill);
- closed edges: Canny edges closed and hole-filled, connected components (objects have contours);
- spectral-residual saliency (Hou & Zhang, CVPR 2007): what the image's average spectrum does not predict;
- GrabCut's main object (`moodboard.embed.object_crop.object_box`, the single-crop path).

A stronger detector plugs in through `RegionProposer` (any object with `name` and `propose`) and the
registry below: `register_proposer("mydet", factory)` or `look.detector = "package.module:factory"`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

from moodboard.core.errors import ConfigError, DependencyError

if TYPE_CHECKING:
    from moodboard.core.settings import LookSettings

Box = tuple[int, int, int, int]  # (left, top, right, bottom) in pixels of the original photo


@dataclass(frozen=True)
class Region:
    """One proposed object: its box, an objectness score in [0, 1], which cue found it, a detector label."""

    box: Box
    score: float
    source: str
    label: str | None = None

    @property
    def area(self) -> int:
        """Box area in pixels."""
        return max(0, self.box[2] - self.box[0]) * max(0, self.box[3] - self.box[1])


class RegionProposer(Protocol):
    """Finds object regions in an (H, W, 3) uint8 RGB photo, best first (at most `max_regions`)."""

    name: str

    def propose(self, rgb: np.ndarray, max_regions: int) -> list[Region]:
        """Return regions best first."""
        ...


@dataclass(frozen=True)
class ProposalConfig:
    """Classical proposer settings (fixed a priori, not tuned on the benchmark's scenes)."""

    work_size: int = 160  # longest side the cues run at
    clusters: int = 6  # k-means colours
    min_area: float = 0.012  # smallest region, fraction of the photo
    max_area: float = 0.7  # larger regions are the scene itself (the whole-image region covers them)
    nms_iou: float = 0.55
    # selective-search grouping of colour components: off, it lowered composites' Recall@100 (Myntra
    # 0.421 -> 0.373, Flipkart 0.471 -> 0.450; BENCHMARKS.md): its boxes often span object and background
    grouping: bool = False
    min_score: float = 0.15  # weaker regions (noise, faint texture) are dropped: no object there
    pad: float = 0.04  # fraction of the box side added around it (context helps the embedder)
    # background prior (Zhu et al., CVPR 2014): walls, floors, ceilings and sky run along the photo's
    # border, objects mostly do not. A region's score is multiplied by exp(-b^2 / (2 sigma^2)), b = its
    # pixels on the border / sqrt(its area); sigma = 1 as in the paper (not tuned here). 0 turns it off.
    border_sigma: float = 1.0


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def non_max_suppression(regions: list[Region], threshold: float) -> list[Region]:
    """Regions best first without any that overlaps a better one by more than `threshold` IoU."""
    kept: list[Region] = []
    for r in sorted(regions, key=lambda r: -r.score):
        if all(iou(r.box, k.box) <= threshold for k in kept):
            kept.append(r)
    return kept


def whole_image(rgb: np.ndarray) -> Region:
    """The whole photo as a region (score 0: nothing was found to stand out)."""
    h, w = rgb.shape[:2]
    return Region((0, 0, w, h), 0.0, "whole")


def box_border(box: Box, width: int, height: int) -> float:
    """Boundary connectivity of a box taken as the region: its length along the photo's border / sqrt(area)."""
    x0, y0, x1, y1 = box
    bw, bh = max(1, x1 - x0), max(1, y1 - y0)
    along = bw * ((y0 <= 0) + (y1 >= height)) + bh * ((x0 <= 0) + (x1 >= width))
    return float(along) / float(np.sqrt(bw * bh))


def _require_cv2() -> None:
    try:
        import cv2  # noqa: F401
    except ImportError as exc:  # pragma: no cover - dependency is in pyproject
        raise DependencyError("region proposals need OpenCV", "pip install opencv-python-headless") from exc


class ClassicalProposer:
    """Colour segments and their grouping, closed edges, saliency and GrabCut, ranked by contrast."""

    name = "classical"

    def __init__(self, config: ProposalConfig | None = None) -> None:
        """Use `config` (defaults otherwise)."""
        self.config = config or ProposalConfig()

    def propose(self, rgb: np.ndarray, max_regions: int) -> list[Region]:
        """Up to `max_regions` regions best first; the whole image is always the last one."""
        _require_cv2()
        import cv2

        h, w = rgb.shape[:2]
        whole = whole_image(rgb)
        if max_regions <= 1 or min(h, w) < 16:
            return [whole]
        cfg = self.config
        scale = cfg.work_size / max(h, w)
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        small = cv2.resize(np.ascontiguousarray(rgb), size, interpolation=cv2.INTER_AREA)  # (sh, sw, 3)
        lab = cv2.cvtColor(cv2.GaussianBlur(small, (3, 3), 0), cv2.COLOR_RGB2LAB).astype(np.float32)
        colour = self._colour_labels(lab)
        masks = [*self._colour_masks(colour), self._edge_mask(small), self._saliency_mask(small)]
        boxes: list[tuple[Box, str, float]] = []  # (work-resolution box, cue, boundary connectivity)
        for mask, source in masks:
            boxes.extend((b, source, bnd) for b, bnd in self._component_boxes(mask))
        if cfg.grouping:
            sh, sw = lab.shape[:2]
            boxes.extend((b, "grouping", box_border(b, sw, sh)) for b in self._grouping_boxes(lab, colour))
        candidates = [
            Region(self._to_full(b, scale, w, h), self._contrast(lab, b) * self._background_prior(bnd), source)
            for b, source, bnd in boxes
        ]
        from moodboard.embed.object_crop import object_box

        grab = object_box(rgb)
        if grab is not None and (grab[2] - grab[0]) * (grab[3] - grab[1]) <= cfg.max_area * w * h:
            sb: Box = (round(grab[0] * scale), round(grab[1] * scale), round(grab[2] * scale), round(grab[3] * scale))
            prior = self._background_prior(box_border(sb, size[0], size[1]))
            candidates.append(Region(grab, self._contrast(lab, sb) * prior, "grabcut"))
        kept = non_max_suppression([c for c in candidates if c.score >= cfg.min_score], cfg.nms_iou)
        kept = [k for k in kept if iou(k.box, whole.box) < 0.8]
        return [*kept[: max_regions - 1], whole]

    # ---- cues -------------------------------------------------------------------------------------
    def _colour_labels(self, lab: np.ndarray) -> np.ndarray:
        """(sh, sw) k-means colour cluster of each pixel."""
        import cv2

        data = lab.reshape(-1, 3)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
        from moodboard.embed.object_crop import _RNG_LOCK

        with _RNG_LOCK:  # k-means seeds from OpenCV's process-wide RNG: reseed for repeatable proposals
            cv2.setRNGSeed(0)
            _, labels, _ = cv2.kmeans(data, self.config.clusters, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
        return labels.reshape(lab.shape[:2])

    def _colour_masks(self, labels: np.ndarray) -> list[tuple[np.ndarray, str]]:
        """One binary mask per k-means colour cluster."""
        import cv2

        kernel = np.ones((3, 3), np.uint8)
        out = []
        for c in range(self.config.clusters):
            m = (labels == c).astype(np.uint8)
            m = cv2.morphologyEx(m, cv2.MORPH_OPEN, kernel)
            out.append((cv2.morphologyEx(m, cv2.MORPH_CLOSE, kernel), "colour"))
        return out

    @staticmethod
    def _fill_holes(mask: np.ndarray) -> np.ndarray:
        import cv2

        h, w = mask.shape
        flood = np.zeros((h + 2, w + 2), np.uint8)
        outside = mask.copy()
        cv2.floodFill(outside, flood, (0, 0), 1)
        # pixels the flood from the corner could not reach are enclosed by the mask
        return np.where(outside == 0, 1, mask).astype(np.uint8)

    def _edge_mask(self, small: np.ndarray) -> tuple[np.ndarray, str]:
        """Canny edges, closed and hole-filled: shapes with a closed contour."""
        import cv2

        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        edges = (cv2.Canny(gray, 50, 150) > 0).astype(np.uint8)
        k = max(3, round(max(gray.shape) * 0.02) | 1)
        closed = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
        closed[0, :] = closed[-1, :] = 0
        closed[:, 0] = closed[:, -1] = 0
        filled = self._fill_holes(closed)
        return cv2.morphologyEx(filled, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)), "edges"

    @staticmethod
    def _saliency_mask(small: np.ndarray) -> tuple[np.ndarray, str]:
        """Spectral-residual saliency at 64 px, thresholded at three times its mean."""
        import cv2

        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
        g = cv2.resize(gray, (64, 64), interpolation=cv2.INTER_AREA)
        spectrum = np.fft.fft2(g)
        log_amp = np.log(np.abs(spectrum) + 1e-6)
        residual = log_amp - cv2.blur(log_amp, (3, 3))
        sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
        sal = cv2.GaussianBlur(sal.astype(np.float32), (9, 9), 2.5)
        sal = cv2.resize(sal, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_LINEAR)
        mask = (sal > 3.0 * sal.mean()).astype(np.uint8)
        return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)), "saliency"

    def _grouping_boxes(self, lab: np.ndarray, colour: np.ndarray) -> list[Box]:
        """Selective search's hierarchical grouping (Uijlings et al. 2013) over colour-cluster components:
        repeatedly merge the most similar adjacent pair (colour histogram + small size + good fill);
        every merged region's box is a candidate, so multi-coloured objects get one box."""
        import cv2

        sh, sw = colour.shape
        seg = np.zeros((sh, sw), np.int32)
        n = 0
        for c in range(self.config.clusters):
            count, comp = cv2.connectedComponents((colour == c).astype(np.uint8), connectivity=4)
            seg = np.where(comp > 0, comp + n - 1, seg)
            n += count - 1
        if n < 2:
            return []
        flat = seg.ravel()
        q = np.clip(lab / 32.0, 0, 7).astype(np.int64)  # 8 bins per Lab channel
        hist = np.zeros((n, 24))
        for ch in range(3):
            np.add.at(hist, (flat, ch * 8 + q[..., ch].ravel()), 1.0)
        size = np.bincount(flat, minlength=n).astype(np.float64)
        ys, xs = np.divmod(np.arange(flat.shape[0]), sw)
        x0 = np.full(n, sw)
        y0 = np.full(n, sh)
        x1 = np.zeros(n, np.int64)
        y1 = np.zeros(n, np.int64)
        np.minimum.at(x0, flat, xs)
        np.minimum.at(y0, flat, ys)
        np.maximum.at(x1, flat, xs + 1)
        np.maximum.at(y1, flat, ys + 1)
        pairs = np.concatenate(
            [np.stack([seg[:, :-1].ravel(), seg[:, 1:].ravel()], 1), np.stack([seg[:-1].ravel(), seg[1:].ravel()], 1)]
        )
        pairs = np.unique(np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1), axis=0)
        regions = {
            i: (hist[i] / (3 * size[i]), size[i], (int(x0[i]), int(y0[i]), int(x1[i]), int(y1[i]))) for i in range(n)
        }
        neighbours: dict[int, set[int]] = {i: set() for i in range(n)}
        for a, b in pairs.tolist():
            neighbours[a].add(b)
            neighbours[b].add(a)
        total = float(sh * sw)

        def similarity(a: int, b: int) -> float:
            ha, sa, ba = regions[a]
            hb, sb, bb = regions[b]
            box = (min(ba[0], bb[0]), min(ba[1], bb[1]), max(ba[2], bb[2]), max(ba[3], bb[3]))
            fill = 1.0 - ((box[2] - box[0]) * (box[3] - box[1]) - sa - sb) / total
            return float(np.minimum(ha, hb).sum()) + (1.0 - (sa + sb) / total) + fill

        out: list[Box] = []
        nxt = n
        sims = {(a, b): similarity(a, b) for a, b in pairs.tolist()}
        while sims:
            a, b = max(sims, key=sims.__getitem__)
            ha, sa, ba = regions.pop(a)
            hb, sb, bb = regions.pop(b)
            merged_size = sa + sb
            box = (min(ba[0], bb[0]), min(ba[1], bb[1]), max(ba[2], bb[2]), max(ba[3], bb[3]))
            regions[nxt] = ((ha * sa + hb * sb) / merged_size, merged_size, box)
            frac = (box[2] - box[0]) * (box[3] - box[1]) / total
            if merged_size >= self.config.min_area * total and frac <= self.config.max_area:
                out.append(box)
            for gone in (a, b):
                for m in neighbours[gone]:
                    sims.pop((min(gone, m), max(gone, m)), None)
            near = (neighbours.pop(a) | neighbours.pop(b)) - {a, b}
            neighbours[nxt] = near
            for m in near:
                neighbours[m] -= {a, b}
                neighbours[m].add(nxt)
                sims[(m, nxt)] = similarity(m, nxt)
            nxt += 1
        return out

    def _component_boxes(self, mask: np.ndarray) -> list[tuple[Box, float]]:
        """(box at work resolution, boundary connectivity) of each connected component whose area is
        plausible for one object."""
        import cv2

        sh, sw = mask.shape
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        ring = np.concatenate([labels[0], labels[-1], labels[1:-1, 0], labels[1:-1, -1]])
        on_border = np.bincount(ring, minlength=n)  # (n,) pixels of each component on the photo's border
        out: list[tuple[Box, float]] = []
        for i, (x, y, bw, bh, area) in enumerate(stats[1:n].tolist(), start=1):
            frac = bw * bh / (sh * sw)
            if area < self.config.min_area * sh * sw or frac > self.config.max_area:
                continue
            if min(bw, bh) < 4 or max(bw / bh, bh / bw) > 6:
                continue  # slivers: shadows, seams, the edge of a table
            out.append(((x, y, x + bw, y + bh), float(on_border[i]) / float(np.sqrt(area))))
        return out

    def _background_prior(self, connectivity: float) -> float:
        """exp(-b^2 / (2 sigma^2)) of a region's boundary connectivity b (1 when the prior is off)."""
        sigma = self.config.border_sigma
        return 1.0 if sigma <= 0 else float(np.exp(-(connectivity**2) / (2 * sigma**2)))

    @staticmethod
    def _contrast(lab: np.ndarray, box: Box) -> float:
        """How far the box's mean colour and texture are from a ring around it, squashed to [0, 1)."""
        sh, sw = lab.shape[:2]
        x0, y0, x1, y1 = (max(0, box[0]), max(0, box[1]), min(sw, box[2]), min(sh, box[3]))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return 0.0
        mx, my = max(2, (x1 - x0) // 4), max(2, (y1 - y0) // 4)
        rx0, ry0, rx1, ry1 = max(0, x0 - mx), max(0, y0 - my), min(sw, x1 + mx), min(sh, y1 + my)
        outer = lab[ry0:ry1, rx0:rx1].reshape(-1, 3)
        inner = lab[y0:y1, x0:x1].reshape(-1, 3)
        n_ring = outer.shape[0] - inner.shape[0]
        if n_ring <= 0:  # the box fills the photo: nothing around it to compare with
            return 0.0
        ring_mean = (outer.sum(axis=0) - inner.sum(axis=0)) / n_ring
        dist = float(np.linalg.norm(inner.mean(axis=0) - ring_mean))
        spread = float(inner.std(axis=0).mean())
        return float(1.0 - np.exp(-(dist + 0.25 * spread) / 40.0))

    def _to_full(self, box: Box, scale: float, w: int, h: int) -> Box:
        """Work-resolution box to a padded box in the original photo."""
        inv = 1.0 / scale
        bw, bh = (box[2] - box[0]) * inv, (box[3] - box[1]) * inv
        px, py = bw * self.config.pad, bh * self.config.pad
        return (
            max(0, int(box[0] * inv - px)),
            max(0, int(box[1] * inv - py)),
            min(w, int(np.ceil(box[2] * inv + px))),
            min(h, int(np.ceil(box[3] * inv + py))),
        )


class WholeImageProposer:
    """The baseline: the photo is one region (what `/search` embeds without its object crop)."""

    name = "whole"

    def propose(self, rgb: np.ndarray, max_regions: int) -> list[Region]:
        """The whole image only."""
        return [whole_image(rgb)]


ProposerFactory = Callable[["LookSettings"], RegionProposer]
_PROPOSERS: dict[str, ProposerFactory] = {
    "classical": lambda s: ClassicalProposer(),
    "whole": lambda s: WholeImageProposer(),
}


def register_proposer(name: str, factory: ProposerFactory) -> None:
    """Make a proposer (e.g. a trained detector) available as `look.detector = name`."""
    _PROPOSERS[name] = factory


def make_proposer(settings: LookSettings) -> RegionProposer:
    """The proposer named by `settings.detector`: a registered name or an importable `module:factory`.

    Raises:
        ConfigError: the name is neither registered nor importable.
    """
    name = settings.detector
    if name in _PROPOSERS:
        return _PROPOSERS[name](settings)
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"look.detector {name!r} cannot be imported", "give an importable `module:factory`"
            ) from exc
        proposer: RegionProposer = factory(settings)
        return proposer
    raise ConfigError(
        f"unknown look.detector {name!r}", f"use one of {', '.join(sorted(_PROPOSERS))} or `module:factory`"
    )


def with_label(region: Region, label: str | None) -> Region:
    """The same region with `label` set (the category its products vote for)."""
    return replace(region, label=label)
