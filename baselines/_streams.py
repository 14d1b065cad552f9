"""Sequence modules that run a whole teacher-forced sequence in one call and also step with a cached state.

Every stream has the same three entry points, used by Sound2Sight (and reusable by other models):

- ``forward(x)``: the whole sequence at once, ``(B, T, in) -> (B, T, out)``; output ``t`` sees inputs ``0..t`` only;
- ``start(x) -> (y, state)``: the same, also returning the state needed to continue the sequence;
- ``step(x_t, state) -> (y_t, state)``: one more position ``(B, in) -> (B, out)``; ``repeat(state, S)`` copies a
  state S times per batch row (sample-major inside each clip: row b becomes rows b*S .. b*S+S-1).

``CausalTransformer`` is the encoder of the original's ``audio_rnn`` / ``video_rnn_prior/posterior`` (Linear to
d_model, LeakyReLU(0.01), x sqrt(d_model), sinusoidal positions, post-norm encoder layers with ReLU feed-forward,
Linear + Tanh), computed causally in one call; its ``step`` caches each layer's keys and values, so generation costs
O(T) per step instead of re-encoding the prefix (O(T^2)) as the original does. In eval mode (no dropout) the three
forms (one call, cached steps, re-encoding every prefix) agree to float rounding (tests/test_sound2sight_streams.py).
``LSTMStream`` is the Fig. 5a ablation's replacement for it. ``SeqLSTM`` and ``SeqGaussianLSTM`` are the sequence
forms of ``_blocks.LSTMStack`` / ``GaussianLSTM`` (a multi-layer ``nn.LSTM`` equals a stack of ``LSTMCell``s).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._blocks import sinusoidal_positions

KV = tuple[torch.Tensor, torch.Tensor]
LSTMState = tuple[torch.Tensor, torch.Tensor]


class _EncoderLayer(nn.Module):
    """Post-norm transformer encoder layer (as ``nn.TransformerEncoderLayer``) with an optional key/value prefix."""

    def __init__(self, d: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        if d % heads:
            raise ValueError(f"d_model {d} is not divisible by {heads} heads")
        self.heads, self.p = heads, dropout
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ff, d))
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.drop1, self.drop2 = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, past: KV | None = None) -> tuple[torch.Tensor, KV]:
        B, T, d = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)  # (B, h, T, dh) each
        if past is not None:
            if T != 1:
                raise ValueError("a cached step takes exactly one new position")
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)  # (B, h, t+1, dh)
        a = F.scaled_dot_product_attention(q, k, v, dropout_p=self.p if self.training else 0.0,
                                           is_causal=past is None and T > 1)  # (B, h, T, dh)
        x = self.norm1(x + self.drop1(self.proj(a.transpose(1, 2).reshape(B, T, d))))  # (B, T, d)
        return self.norm2(x + self.drop2(self.ff(x))), (k, v)


class CausalTransformer(nn.Module):
    """Causal transformer encoder ``(B, T, in_dim) -> (B, T, out_dim)`` with a key/value cache for stepping."""

    def __init__(self, in_dim: int, out_dim: int, d_model: int = 256, heads: int = 4, ff: int = 128,
                 layers: int = 1, dropout: float = 0.1, pe_dropout: float = 0.2, max_len: int = 1024) -> None:
        super().__init__()
        self.d = d_model
        self.embed = nn.Sequential(nn.Linear(in_dim, d_model), nn.LeakyReLU(0.01))
        self.register_buffer("pe", sinusoidal_positions(max_len, d_model), persistent=False)
        self.pe_drop = nn.Dropout(pe_dropout)
        self.layers = nn.ModuleList(_EncoderLayer(d_model, heads, ff, dropout) for _ in range(layers))
        self.out = nn.Sequential(nn.Linear(d_model, out_dim), nn.Tanh())

    def _inputs(self, x: torch.Tensor, start: int) -> torch.Tensor:
        T = x.shape[1]
        if start + T > self.pe.shape[0]:
            raise ValueError(f"sequence of {start + T} positions exceeds the transformer's max_len {self.pe.shape[0]}")
        return self.pe_drop(self.embed(x) * math.sqrt(self.d) + self.pe[start : start + T])  # (B, T, d)

    def start(self, x: torch.Tensor) -> tuple[torch.Tensor, list[KV]]:
        h, cache = self._inputs(x, 0), []
        for layer in self.layers:
            h, kv = layer(h)
            cache.append(kv)
        return self.out(h), cache  # (B, T, out_dim), per-layer (keys, values) (B, h, T, dh)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.start(x)[0]

    def step(self, x: torch.Tensor, cache: list[KV]) -> tuple[torch.Tensor, list[KV]]:
        h, new = self._inputs(x[:, None], cache[0][0].shape[2]), []  # (B, 1, d)
        for layer, past in zip(self.layers, cache):
            h, kv = layer(h, past)
            new.append(kv)
        return self.out(h[:, 0]), new  # (B, out_dim)

    @staticmethod
    def repeat(cache: list[KV], S: int) -> list[KV]:
        return [(k.repeat_interleave(S, 0), v.repeat_interleave(S, 0)) for k, v in cache]


class LSTMStream(nn.Module):
    """LSTM (``hidden``-d) + Linear + Tanh: the transformer's replacement in the paper's Fig. 5a ablation."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_dim, hidden, batch_first=True)
        self.out = nn.Sequential(nn.Linear(hidden, out_dim), nn.Tanh())

    def start(self, x: torch.Tensor) -> tuple[torch.Tensor, LSTMState]:
        y, state = self.lstm(x)  # (B, T, hidden)
        return self.out(y), state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.start(x)[0]

    def step(self, x: torch.Tensor, state: LSTMState) -> tuple[torch.Tensor, LSTMState]:
        y, state = self.lstm(x[:, None], state)  # (B, 1, hidden)
        return self.out(y[:, 0]), state

    @staticmethod
    def repeat(state: LSTMState, S: int) -> LSTMState:
        return repeat_lstm_state(state, S)


def repeat_lstm_state(state: LSTMState, S: int) -> LSTMState:
    """Repeat an ``nn.LSTM`` state ``(layers, B, H)`` pair S times per batch row."""
    return state[0].repeat_interleave(S, 1), state[1].repeat_interleave(S, 1)


class SeqLSTM(nn.Module):
    """Linear -> ``layers``-layer LSTM -> Linear + Tanh over a whole sequence (SVG's frame predictor)."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 256, layers: int = 2) -> None:
        super().__init__()
        self.embed = nn.Linear(in_dim, hidden)
        self.lstm = nn.LSTM(hidden, hidden, layers, batch_first=True)
        self.out = nn.Sequential(nn.Linear(hidden, out_dim), nn.Tanh())

    def forward(self, x: torch.Tensor, state: LSTMState | None = None) -> tuple[torch.Tensor, LSTMState]:
        y, state = self.lstm(self.embed(x), state)  # (B, T, hidden)
        return self.out(y), state  # (B, T, out_dim)


class SeqGaussianLSTM(nn.Module):
    """Linear -> LSTM -> (mu, logvar) heads over a whole sequence (the prior and posterior networks)."""

    def __init__(self, in_dim: int, z_dim: int, hidden: int = 256, layers: int = 1) -> None:
        super().__init__()
        self.embed = nn.Linear(in_dim, hidden)
        self.lstm = nn.LSTM(hidden, hidden, layers, batch_first=True)
        self.mu, self.logvar = nn.Linear(hidden, z_dim), nn.Linear(hidden, z_dim)

    def forward(self, x: torch.Tensor, state: LSTMState | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, LSTMState]:
        y, state = self.lstm(self.embed(x), state)  # (B, T, hidden)
        return self.mu(y), self.logvar(y), state  # (B, T, z_dim) each


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
