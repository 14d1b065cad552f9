"""The sequence blocks of the models: LSTMs and a causal transformer over time, and the Gaussian latent helpers.

Every block maps a sequence ``(B, T, in)`` to ``(B, T, out)`` where output t sees inputs 0..t only, and returns the
state that continues it: ``y, state = block(x)`` then ``y_next, state = block(x_next, state)`` equals one call over
the concatenated sequence. Training runs a whole teacher-forced sequence in one call; generation continues it one
position at a time. ``repeat(state, S)`` copies a state S times per batch row (row b becomes rows b*S .. b*S+S-1).

- ``PredictorLSTM`` and ``GaussianLSTM``: the SVG-LP backbone's frame predictor (Linear -> LSTM -> Linear + Tanh)
  and its learned prior / posterior (Linear -> LSTM -> mean and log-variance heads), shared by SVG-LP and
  Sound2Sight. A multi-layer ``nn.LSTM`` over a sequence equals the original's stack of ``LSTMCell`` steps;
- ``CausalTransformer``: the encoder of Sound2Sight's audio, prior-video and posterior-video streams (Linear to
  d_model, LeakyReLU(0.01), x sqrt(d_model), sinusoidal positions, post-norm encoder layers with ReLU feed-forward,
  Linear + Tanh) under a causal mask; its state caches each layer's keys and values, so a generated position costs
  O(T) instead of re-encoding the prefix (O(T^2)) as the original does. One call, cached steps and re-encoding every
  prefix agree to float rounding in eval mode (tests/test_model_blocks.py);
- ``LSTMStream``: the transformer's replacement in Sound2Sight's Fig. 5a ablation.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from s2sbench.errors import ConfigError

KV = tuple[torch.Tensor, torch.Tensor]
LSTMState = tuple[torch.Tensor, torch.Tensor]


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """A sample of N(mu, exp(logvar)) with a gradient to both parameters."""
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)


def kl_gaussians(mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor, logvar_p: torch.Tensor
                 ) -> torch.Tensor:
    """KL(q || p) of diagonal Gaussians, summed over the last axis, averaged over the rest; computed in fp32 (under
    bf16 autocast the parameters arrive in bf16, whose 8-bit mantissa made the small KL of a fitted posterior
    negative)."""
    mu_q, logvar_q, mu_p, logvar_p = (t.float() for t in (mu_q, logvar_q, mu_p, logvar_p))
    kl = 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1)
    return kl.sum(-1).mean()


def repeat_lstm_state(state: LSTMState, S: int) -> LSTMState:
    """An ``nn.LSTM`` state, (layers, B, H) twice, with each batch row repeated S times."""
    return state[0].repeat_interleave(S, 1), state[1].repeat_interleave(S, 1)


class PredictorLSTM(nn.Module):
    """SVG's frame predictor: Linear -> ``layers``-layer LSTM -> Linear + Tanh, (B, T, in) -> (B, T, out)."""

    repeat = staticmethod(repeat_lstm_state)

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 256, layers: int = 2) -> None:
        super().__init__()
        self.embed = nn.Linear(in_dim, hidden)
        self.lstm = nn.LSTM(hidden, hidden, layers, batch_first=True)
        self.out = nn.Sequential(nn.Linear(hidden, out_dim), nn.Tanh())

    def forward(self, x: torch.Tensor, state: LSTMState | None = None) -> tuple[torch.Tensor, LSTMState]:
        y, state = self.lstm(self.embed(x), state)  # (B, T, hidden)
        return self.out(y), state  # (B, T, out_dim)


class GaussianLSTM(nn.Module):
    """SVG's prior / posterior: Linear -> LSTM -> (mu, logvar) heads, (B, T, in) -> (B, T, z_dim) twice."""

    repeat = staticmethod(repeat_lstm_state)

    def __init__(self, in_dim: int, z_dim: int, hidden: int = 256, layers: int = 1) -> None:
        super().__init__()
        self.embed = nn.Linear(in_dim, hidden)
        self.lstm = nn.LSTM(hidden, hidden, layers, batch_first=True)
        self.mu, self.logvar = nn.Linear(hidden, z_dim), nn.Linear(hidden, z_dim)

    def forward(self, x: torch.Tensor, state: LSTMState | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, LSTMState]:
        y, state = self.lstm(self.embed(x), state)  # (B, T, hidden)
        return self.mu(y), self.logvar(y), state  # (B, T, z_dim) each


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """Transformer position encodings (length, dim)."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class EncoderLayer(nn.Module):
    """Post-norm transformer encoder layer (as ``nn.TransformerEncoderLayer``), causal, with a key/value cache."""

    def __init__(self, d: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        if d % heads:
            raise ConfigError(f"d_model {d} is not divisible by {heads} heads")
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
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)  # (B, h, P+T, dh)
        P = k.shape[2] - T  # cached positions
        mask = torch.ones(T, P + T, dtype=torch.bool, device=x.device).tril(P) if P and T > 1 else None
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.p if self.training else 0.0,
                                           is_causal=T > 1 and not P)  # (B, h, T, dh)
        x = self.norm1(x + self.drop1(self.proj(a.transpose(1, 2).reshape(B, T, d))))  # (B, T, d)
        return self.norm2(x + self.drop2(self.ff(x))), (k, v)


class CausalTransformer(nn.Module):
    """Causal transformer encoder (B, T, in_dim) -> (B, T, out_dim); its state is every layer's keys and values."""

    def __init__(self, in_dim: int, out_dim: int, d_model: int = 256, heads: int = 4, ff: int = 128,
                 layers: int = 1, dropout: float = 0.1, pe_dropout: float = 0.2, max_len: int = 1024) -> None:
        super().__init__()
        self.d = d_model
        self.embed = nn.Sequential(nn.Linear(in_dim, d_model), nn.LeakyReLU(0.01))
        self.register_buffer("pe", sinusoidal_positions(max_len, d_model), persistent=False)
        self.pe_drop = nn.Dropout(pe_dropout)
        self.layers = nn.ModuleList(EncoderLayer(d_model, heads, ff, dropout) for _ in range(layers))
        self.out = nn.Sequential(nn.Linear(d_model, out_dim), nn.Tanh())

    def forward(self, x: torch.Tensor, cache: list[KV] | None = None) -> tuple[torch.Tensor, list[KV]]:
        T, start = x.shape[1], 0 if cache is None else cache[0][0].shape[2]
        if start + T > self.pe.shape[0]:
            raise ValueError(f"sequence of {start + T} positions exceeds the transformer's max_len {self.pe.shape[0]}")
        h = self.pe_drop(self.embed(x) * math.sqrt(self.d) + self.pe[start : start + T])  # (B, T, d)
        new = []
        for i, layer in enumerate(self.layers):
            h, kv = layer(h, None if cache is None else cache[i])
            new.append(kv)
        return self.out(h), new  # (B, T, out_dim), per layer (keys, values) (B, heads, start+T, d/heads)

    @staticmethod
    def repeat(cache: list[KV], S: int) -> list[KV]:
        return [(k.repeat_interleave(S, 0), v.repeat_interleave(S, 0)) for k, v in cache]


class LSTMStream(nn.Module):
    """LSTM (``hidden``-d) + Linear + Tanh, (B, T, in_dim) -> (B, T, out_dim): Fig. 5a's transformer replacement."""

    repeat = staticmethod(repeat_lstm_state)

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_dim, hidden, batch_first=True)
        self.out = nn.Sequential(nn.Linear(hidden, out_dim), nn.Tanh())

    def forward(self, x: torch.Tensor, state: LSTMState | None = None) -> tuple[torch.Tensor, LSTMState]:
        y, state = self.lstm(x, state)  # (B, T, hidden)
        return self.out(y), state  # (B, T, out_dim)
