"""Building blocks shared by the models: DCGAN frame encoder/decoder with skips, conv audio encoder, LSTMs.

Every block is sized from the data (image side, channels, audio patch), so 48x48x1 and 64x64x3 use the same code
(no per-resolution copies, unlike the original ``dcgan_48/64/96/128`` files).

Frame encoder: stride-2 [Conv 4x4 + BN + LeakyReLU(0.2)] layers with 64, 128, 256, 512 channels while the side is
at least 8 (48 -> 24 -> 12 -> 6: three layers; 64 -> 32 -> 16 -> 8 -> 4: four layers), then a Conv over the whole
remaining map to ``g_dim`` + BN + Tanh. It returns the embedding and the per-layer skip maps. The decoder mirrors it
(ConvTranspose, concatenating the skips) and ends in a Sigmoid (the original's) or, with ``output="clamp"``, in
``UnitClamp``: frames clamped to [0, 1] with the gradient passed straight through. Under an MSE loss a Sigmoid output
approaches an exactly black background only polynomially (the gradient 2y * y(1 - y) vanishes with y), and the
paper's SSIM (data range 2, C1 = 4e-4) punishes a background of 0.01 by about 0.15; a clamped output reaches exact
zeros, and the straight-through gradient keeps pixels clamped at 0 or 1 learning when the target differs.
Audio encoder: the per-frame feature viewed as a (bins, steps) image: Conv 4x4 stride 1, then stride-2 DCGAN
layers 128, 256, 512 while both sides are at least 4, then a Conv over the remaining map to ``dim`` + BN + Tanh
(23x21 -> 20x18 -> 10x9 -> 5x4 -> 2x2 -> 1: the original's M3SO audio encoder).
"""
from __future__ import annotations

import math

import torch
from torch import nn


def init_weights(m: nn.Module) -> None:
    """DCGAN init, as SVG and Sound2Sight: conv/linear N(0, 0.02) with zero bias, BatchNorm weight N(1, 0.02)."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True))


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True))


def encoder_widths(side: int, base: int = 64, cap: int = 512) -> tuple[list[int], int]:
    """Channel widths of the stride-2 layers and the final spatial side for an image of ``side`` pixels."""
    widths = []
    while side >= 8 and side % 2 == 0:
        widths.append(min(base * 2 ** len(widths), cap))
        side //= 2
    return widths, side


class FrameEncoder(nn.Module):
    """(N, C, S, S) -> embedding (N, g_dim) and skips [(N, w_i, S/2^(i+1), ...)] (last skip is the smallest)."""

    def __init__(self, channels: int, side: int, g_dim: int = 128, base: int = 64) -> None:
        super().__init__()
        self.widths, self.final_side = encoder_widths(side, base)
        ins = [channels] + self.widths[:-1]
        self.layers = nn.ModuleList(_down(i, o) for i, o in zip(ins, self.widths))
        self.head = nn.Sequential(nn.Conv2d(self.widths[-1], g_dim, self.final_side), nn.BatchNorm2d(g_dim), nn.Tanh())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips = []
        for layer in self.layers:
            x = layer(x)
            skips.append(x)
        return self.head(x).flatten(1), skips  # (N, g_dim), skips


class UnitClamp(nn.Module):
    """``x.clamp(0, 1)`` in the forward pass, the identity's gradient in the backward pass (straight-through): a
    clamped pixel whose target differs still gets the gradient of ``(clamp(x) - target)^2``. Exact in every dtype:
    ``x - x.detach()`` is exactly zero (``x + (clamp(x) - x)`` rounds twice, off by up to 2^-8 in bf16 for |x| > 2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.detach().clamp(0.0, 1.0) + (x - x.detach())


OUTPUTS = {"sigmoid": nn.Sigmoid, "clamp": UnitClamp}


class FrameDecoder(nn.Module):
    """(N, g_dim) and the encoder's skips -> (N, C, S, S) in [0, 1]. ``skips=False`` builds it without skips;
    ``output`` is ``"sigmoid"`` (the original's) or ``"clamp"`` (``UnitClamp``)."""

    def __init__(self, channels: int, side: int, g_dim: int = 128, base: int = 64, skips: bool = True,
                 output: str = "sigmoid") -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"unknown decoder output {output!r} (known: {', '.join(OUTPUTS)})")
        widths, final_side = encoder_widths(side, base)
        self.use_skips = skips
        k = 2 if skips else 1
        self.head = nn.Sequential(nn.ConvTranspose2d(g_dim, widths[-1], final_side), nn.BatchNorm2d(widths[-1]),
                                  nn.LeakyReLU(0.2, inplace=True))
        outs = widths[::-1][1:]  # e.g. [128, 64] for widths [64, 128, 256]
        ins = widths[::-1]
        self.layers = nn.ModuleList(_up(i * k, o) for i, o in zip(ins[:-1], outs))
        self.out = nn.Sequential(nn.ConvTranspose2d(widths[0] * k, channels, 4, 2, 1), OUTPUTS[output]())

    def forward(self, h: torch.Tensor, skips: list[torch.Tensor] | None = None) -> torch.Tensor:
        x = self.head(h[:, :, None, None])  # (N, w_last, s, s)
        layers = list(self.layers) + [self.out]
        for i, layer in enumerate(layers):
            if self.use_skips:
                x = torch.cat([x, skips[-1 - i]], dim=1)  # type: ignore[index]
            x = layer(x)
        return x  # (N, C, S, S)


class AudioEncoder(nn.Module):
    """Per-frame audio feature (N, bins * steps) viewed as (N, 1, bins, steps) -> (N, dim)."""

    def __init__(self, patch: tuple[int, int], dim: int = 128, base: int = 64) -> None:
        super().__init__()
        self.patch = patch
        h, w = patch[0] - 3, patch[1] - 3
        if h < 1 or w < 1:
            raise ValueError(f"audio patch {patch} too small for the audio encoder (needs both sides >= 4)")
        layers: list[nn.Module] = [nn.Conv2d(1, base, 4, 1, 0), nn.BatchNorm2d(base), nn.LeakyReLU(0.2, inplace=True)]
        c = base
        while h >= 4 and w >= 4 and c < 512:
            layers.append(_down(c, c * 2))
            c, h, w = c * 2, h // 2, w // 2
        layers += [nn.Conv2d(c, dim, (h, w)), nn.BatchNorm2d(dim), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.net(a.reshape(-1, 1, *self.patch)).flatten(1)  # (N, dim)


class LSTMStack(nn.Module):
    """SVG's deterministic predictor: Linear -> n LSTMCells -> Linear (+Tanh). Stateful: call ``reset(B)`` first."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 256, layers: int = 2, tanh: bool = True) -> None:
        super().__init__()
        self.embed = nn.Linear(in_dim, hidden)
        self.cells = nn.ModuleList(nn.LSTMCell(hidden, hidden) for _ in range(layers))
        self.out = nn.Sequential(nn.Linear(hidden, out_dim), nn.Tanh()) if tanh else nn.Linear(hidden, out_dim)
        self.hidden = hidden
        self.state: list[tuple[torch.Tensor, torch.Tensor]] = []

    def reset(self, batch: int, device: torch.device | None = None) -> None:
        z = torch.zeros(batch, self.hidden, device=device)
        self.state = [(z, z) for _ in self.cells]

    def _advance(self, x: torch.Tensor) -> torch.Tensor:
        """Run the cells one step from the stored state; returns the top hidden state (B, hidden)."""
        h = self.embed(x)  # (B, hidden)
        new = []
        for cell, st in zip(self.cells, self.state):
            hc = cell(h, st)
            new.append(hc)
            h = hc[0]
        self.state = new
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self._advance(x))  # (B, out_dim)


class GaussianLSTM(LSTMStack):
    """Linear -> LSTMCells -> (mu, logvar) heads; ``forward`` returns (z, mu, logvar) with reparameterisation."""

    def __init__(self, in_dim: int, z_dim: int, hidden: int = 256, layers: int = 1) -> None:
        super().__init__(in_dim, z_dim, hidden, layers, tanh=False)
        self.logvar = nn.Linear(hidden, z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # type: ignore[override]
        h = self._advance(x)  # (B, hidden)
        mu, logvar = self.out(h), self.logvar(h)  # (B, z_dim) each
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return z, mu, logvar


def kl_gaussians(mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor, logvar_p: torch.Tensor
                 ) -> torch.Tensor:
    """KL(q || p) of diagonal Gaussians, summed over the last axis, averaged over the rest."""
    kl = 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1)
    return kl.sum(-1).mean()


def sinusoidal_positions(length: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """Transformer position encodings (length, dim)."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim, device=device)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe
