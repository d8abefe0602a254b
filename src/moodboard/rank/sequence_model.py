"""A causal transformer over a user's engagement sequence (SASRec, ICDM 2018; PinnerFormer, KDD 2022).

Reads top to bottom like nanoGPT: one config dataclass, pre-norm blocks, a shape comment on each tensor
line (B = users in the batch, T = sequence positions, C = model width, N = catalogue size + 1 padding row).

An item is its learned id embedding plus a projection of its content embedding where one exists, so an
item that no one engaged with yet (a cold item) still has a representation from its vector alone. The
hidden state at the last position is the user embedding; an item's score is the dot product with its row
of the same item table (input and output embeddings are tied, as in SASRec).

Two objectives:
- `next_item`: each position predicts the next engagement, softmax over the whole catalogue.
- `all_action`: PinnerFormer's dense all-action loss; each position predicts *every* engagement in the
  next `all_action_window` actions (mean of their log-likelihoods), so the user embedding is trained to
  stay good for a while rather than for the next click only (the paper's daily-batch use).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

Objective = Literal["next_item", "all_action"]


@dataclass(frozen=True)
class SequenceConfig:
    """Model shape and objective. Item index 0 is padding; catalogue items are 1..n_items."""

    n_items: int
    max_len: int = 200
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 2
    dropout: float = 0.2
    content_dim: int = 0  # width of the items' content embeddings; 0 = id embeddings only
    objective: Objective = "next_item"
    all_action_window: int = 8  # future actions each position predicts under `all_action`
    mask_seen: bool = False  # leave items already in the history out of each position's softmax

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready values (stored in the snapshot manifest)."""
        return asdict(self)


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where a position sees itself and earlier, non-padding positions."""

    def __init__(self, cfg: SequenceConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.dropout = cfg.dropout

    def forward(self, x: Tensor, mask: Tensor | None, last_only: bool = False) -> Tensor:
        """x (B, T, C), mask (B, 1, T, T) bool (True = may attend; None = no padding) -> (B, T, C).

        `last_only` computes the newest position alone -> (B, 1, C): it sees every key, so needs no mask.
        """
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)  # 3 x (B, T, C)
        if last_only:
            q = q[:, -1:]  # (B, 1, C)
        q = q.view(b, q.shape[1], self.n_heads, c // self.n_heads).transpose(1, 2)  # (B, H, T', C/H)
        k = k.view(b, t, self.n_heads, c // self.n_heads).transpose(1, 2)  # (B, H, T, C/H)
        v = v.view(b, t, self.n_heads, c // self.n_heads).transpose(1, 2)  # (B, H, T, C/H)
        p = self.dropout if self.training else 0.0
        causal = mask is None and not last_only
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=causal)  # (B, H, T', C/H)
        y = y.transpose(1, 2).contiguous().view(b, q.shape[2], c)  # (B, T', C)
        return self.proj(y)  # (B, T', C)


class Block(nn.Module):
    """Pre-norm transformer block: attention then a 4x MLP, each with a residual connection."""

    def __init__(self, cfg: SequenceConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.d_model, 4 * cfg.d_model),
            nn.GELU(),
            nn.Linear(4 * cfg.d_model, cfg.d_model),
            nn.Dropout(cfg.dropout),
        )
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor, mask: Tensor | None, last_only: bool = False) -> Tensor:
        """x (B, T, C) -> (B, T, C), or (B, 1, C) for the newest position alone (`last_only`)."""
        y = self.drop(self.attn(self.ln1(x), mask, last_only))  # (B, T', C)
        x = (x[:, -1:] if last_only else x) + y  # (B, T', C)
        return x + self.mlp(self.ln2(x))  # (B, T', C)


class SequenceModel(nn.Module):
    """The sequence transformer: item table, positions, blocks, final norm."""

    id_mask: Tensor  # (N, 1) buffer
    content: Tensor  # (N, content_dim) buffer, only when cfg.content_dim > 0

    def __init__(self, cfg: SequenceConfig, content: Tensor | None = None) -> None:
        """Build the model; `content` is (n_items + 1, content_dim) float, zero rows where an item has none."""
        super().__init__()
        if cfg.d_model % cfg.n_heads:
            raise ValueError(f"d_model {cfg.d_model} must be a multiple of n_heads {cfg.n_heads}")
        self.cfg = cfg
        self.item_emb = nn.Embedding(cfg.n_items + 1, cfg.d_model, padding_idx=0)
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.d_model)
        self.content_proj: nn.Linear | None = None
        if cfg.content_dim:
            if content is None or tuple(content.shape) != (cfg.n_items + 1, cfg.content_dim):
                raise ValueError(f"content must be ({cfg.n_items + 1}, {cfg.content_dim})")
            self.register_buffer("content", content.float())
            self.content_proj = nn.Linear(cfg.content_dim, cfg.d_model, bias=False)
        # 1 for items seen in training; a cold item's (untrained) id row is masked out when serving
        self.register_buffer("id_mask", torch.ones(cfg.n_items + 1, 1))
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        nn.init.normal_(self.item_emb.weight, std=0.02)
        nn.init.normal_(self.pos_emb.weight, std=0.02)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()

    def item_table(self) -> Tensor:
        """Every item's embedding: id part (masked for cold items) + content part -> (N, C)."""
        table = self.item_emb.weight * self.id_mask  # (N, C)
        if self.content_proj is not None:
            table = table + self.content_proj(self.content)  # (N, C)
        return table

    def forward(self, seq: Tensor) -> Tensor:
        """seq (B, T) item indices, left-padded with 0 -> hidden states (B, T, C)."""
        if seq.shape[1] > self.cfg.max_len:
            raise ValueError(f"sequence length {seq.shape[1]} exceeds max_len {self.cfg.max_len}")
        return self.encode(self.item_table()[seq], seq > 0)  # (B, T, C)

    def encode(self, emb: Tensor, valid: Tensor) -> Tensor:
        """Item embeddings (B, T, C) of a left-padded batch and its mask (B, T) -> hidden states (B, T, C).

        Serving calls this directly with rows of a precomputed item table (which may hold items added after
        training, from their content embeddings alone).
        """
        t = emb.shape[1]
        pos = torch.arange(t - 1, -1, -1, device=emb.device)  # (T,): positions count back from the newest item,
        # so a history reads the same left-padded to max_len (training) or unpadded (serving)
        x = emb * math.sqrt(self.cfg.d_model) + self.pos_emb(pos)  # (B, T, C)
        x = self.drop(x) * valid.unsqueeze(-1)  # (B, T, C)
        causal = torch.ones(t, t, dtype=torch.bool, device=emb.device).tril()  # (T, T)
        eye = torch.eye(t, dtype=torch.bool, device=emb.device)  # (T, T): padding rows attend to themselves
        mask = (causal & valid[:, None, :]) | eye  # (B, T, T)
        mask = mask.unsqueeze(1)  # (B, 1, T, T)
        for block in self.blocks:
            x = block(x, mask) * valid.unsqueeze(-1)  # (B, T, C)
        return self.ln_f(x)  # (B, T, C)

    def encode_last(self, emb: Tensor) -> Tensor:
        """The user embedding of one unpadded history: item embeddings (T, C), oldest first -> (C,).

        The serving path: without padding, attention needs no mask (SDPA's causal kernel), and the last
        block computes the newest position only, the one the user embedding is read from.
        """
        t = emb.shape[0]
        pos = torch.arange(t - 1, -1, -1, device=emb.device)  # (T,), as in `encode`
        x = (emb * math.sqrt(self.cfg.d_model) + self.pos_emb(pos))[None]  # (1, T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, None, last_only=i == len(self.blocks) - 1)  # (1, T, C); (1, 1, C) after the last
        return self.ln_f(x)[0, -1]  # (C,)

    def loss(self, seq: Tensor) -> Tensor:
        """Training loss on a batch of sequences (B, T + 1): positions 0..T-1 predict what comes after.

        Only real positions (an item in, an item to predict) are scored: with left padding to max_len most
        of a batch can be padding, and the (positions x catalogue) logits are the bulk of the cost.
        """
        inp, tgt = seq[:, :-1], seq[:, 1:]  # (B, T), (B, T)
        w = self.cfg.all_action_window if self.cfg.objective == "all_action" else 1
        future = F.pad(tgt, (0, w - 1)).unfold(1, w, 1)  # (B, T, W): future[b, t, j] = seq[b, t + 1 + j]
        b_idx, t_idx = torch.nonzero((inp > 0) & (tgt > 0), as_tuple=True)  # (M,), (M,)
        h = self(inp)[b_idx, t_idx]  # (M, C)
        logits = h @ self.item_table().T  # (M, N)
        logits[:, 0] = float("-inf")  # never predict padding
        fut = future[b_idx, t_idx]  # (M, W)
        if self.cfg.mask_seen:
            logits = logits.masked_fill(seen_mask(inp, b_idx, t_idx, fut, logits.shape[-1]), float("-inf"))
        if self.cfg.objective == "next_item":
            return F.cross_entropy(logits, fut[:, 0])
        # dense all-action: position t predicts each of seq[t+1 .. t+W] (PinnerFormer, section 3.3)
        logp = F.log_softmax(logits, dim=-1)  # (M, N)
        valid = fut > 0  # (M, W): the window runs past the end of the sequence
        ll = logp.gather(1, fut)  # (M, W)
        ll = torch.where(valid, ll, torch.zeros_like(ll))  # padding targets have log-likelihood -inf
        return -ll.sum() / valid.sum().clamp(min=1)

    @torch.no_grad()
    def user_embedding(self, seq: Tensor) -> Tensor:
        """seq (B, T) left-padded -> the hidden state at the last position (B, C)."""
        return self(seq)[:, -1, :]  # (B, C)


def seen_mask(inp: Tensor, b_idx: Tensor, t_idx: Tensor, targets: Tensor, n: int) -> Tensor:
    """(M, N) True where item i occurs in inp[b, :t+1] for each scored position (b, t), targets excepted.

    Serving leaves engaged items out of a user's candidates, so training need not spend the softmax on
    pushing them down (on catalogues where an item is engaged once, e.g. rated films, they never come next);
    a target that repeats an earlier item stays in (re-engagement is still learned).
    """
    b, t = inp.shape
    steps = torch.arange(t, device=inp.device)  # (T,)
    first = torch.full((b, n), t, dtype=torch.long, device=inp.device)  # (B, N): T = never seen
    first.scatter_reduce_(1, inp, steps.expand(b, t), reduce="amin")  # first position of each item
    mask = first[b_idx] <= t_idx[:, None]  # (M, N)
    return mask.scatter(1, targets, False)  # (M, N)
