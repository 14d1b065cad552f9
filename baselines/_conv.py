"""The convolutional blocks of the models (the DCGAN family): frame encoder and decoder with skips, audio encoders,
a conv critic, the DCGAN init. Each maps one frame or one audio patch at a time, (N, ...) -> (N, ...); the sequence
models over time are in ``_sequence``.

Every block is sized from the data (image side, channels, audio patch), so 48x48x1 and 64x64x3 use the same code.
Frame encoder: stride-2 [Conv 4x4 + BN + LeakyReLU(0.2)] layers with 64, 128, 256, 512 channels while the side is
at least 8 (48 -> 24 -> 12 -> 6: three layers; 64 -> 32 -> 16 -> 8 -> 4: four layers), then a Conv over the whole
remaining map to ``g_dim`` + BN + Tanh; it returns the embedding and the per-layer skip maps. The decoder mirrors it
(ConvTranspose, concatenating the skips) and ends in a Sigmoid (the original's) or, with ``output="clamp"``, in
``UnitClamp``: frames clamped to [0, 1] with the gradient passed straight through. Under an MSE loss a Sigmoid output
approaches an exactly black background only polynomially (the gradient 2y * y(1 - y) vanishes with y), and the
paper's SSIM (data range 2, C1 = 4e-4) punishes a background of 0.01 by about 0.15; a clamped output reaches exact
zeros. Audio encoder: the per-frame feature viewed as a (bins, steps) image: Conv 4x4 stride 1, then stride-2 DCGAN
layers 128, 256, 512 while both sides are at least 4, then a Conv over the remaining map to ``dim`` + BN + Tanh
(23x21 -> 20x18 -> 10x9 -> 5x4 -> 2x2 -> 1: the original's M3SO audio encoder).

``fast=True`` (Sound2Sight's default) computes the same functions with the CPU fast path of ``_fastconv``: the
convolution shapes oneDNN is slow at as matrix products, the decoder's skip half once per skip source (a transposed
convolution is linear in its input channels), gradients kept in the activations' channels_last layout. The
parameters and the state dict are those of ``fast=False``; only the float summation order differs.
"""
from __future__ import annotations

import torch
from torch import nn

from s2sbench.errors import ConfigError
from s2sbench.models import DataSpec

from ._fastconv import FastConv2d, FastConvTranspose2d, conv_transpose, keep_layout


def init_weights(m: nn.Module) -> None:
    """DCGAN init, as SVG and Sound2Sight: conv/linear N(0, 0.02) with zero bias, BatchNorm weight N(1, 0.02)."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def _conv(fast: bool) -> type[nn.Conv2d]:
    return FastConv2d if fast else nn.Conv2d


def _down(cin: int, cout: int, fast: bool = False) -> nn.Sequential:
    return nn.Sequential(_conv(fast)(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True))


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
    """(N, C, S, S) -> embedding (N, g_dim) and skips [(N, w_i, S/2^(i+1), ...)] (the last skip is the smallest)."""

    def __init__(self, channels: int, side: int, g_dim: int = 128, base: int = 64, fast: bool = False) -> None:
        super().__init__()
        self.fast = fast
        self.widths, self.final_side = encoder_widths(side, base)
        ins = [channels] + self.widths[:-1]
        self.layers = nn.ModuleList(_down(i, o, fast) for i, o in zip(ins, self.widths))
        self.head = nn.Sequential(_conv(fast)(self.widths[-1], g_dim, self.final_side), nn.BatchNorm2d(g_dim),
                                  nn.Tanh())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips = []
        for layer in self.layers:
            x = layer(x)  # (N, w_i, s_i, s_i)
            skips.append(keep_layout(x) if self.fast else x)  # fast: the skip's gradient comes back in x's layout
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
                 output: str = "sigmoid", fast: bool = False) -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ConfigError(f"unknown decoder output {output!r} (known: {', '.join(OUTPUTS)})")
        widths, final_side = encoder_widths(side, base)
        self.use_skips, self.fast = skips, fast
        k = 2 if skips else 1  # input channels grow by the concatenated skip
        head = FastConvTranspose2d if fast else nn.ConvTranspose2d
        self.head = nn.Sequential(head(g_dim, widths[-1], final_side), nn.BatchNorm2d(widths[-1]),
                                  nn.LeakyReLU(0.2, inplace=True))
        ins, outs = widths[::-1][:-1], widths[::-1][1:]  # e.g. [256, 128] -> [128, 64] for widths [64, 128, 256]
        self.layers = nn.ModuleList(_up(i * k, o) for i, o in zip(ins, outs))
        self.out = nn.Sequential(nn.ConvTranspose2d(widths[0] * k, channels, 4, 2, 1), OUTPUTS[output]())

    def forward(self, h: torch.Tensor, skips: list[torch.Tensor] | None = None,
                uses: int | torch.Tensor = 1) -> torch.Tensor:
        """Decode embeddings ``h`` (N, g_dim) with the skips of M source frames [(M, w_i, s_i, s_i)], the
        encoder's list: source m serves ``uses[m]`` consecutive rows of ``h`` (an int: the same for every source;
        N = sum of the uses). Returns (N, C, S, S)."""
        x = self.head(h[:, :, None, None])  # (N, w_last, s, s)
        blocks = [*self.layers, self.out]
        for block, skip in zip(blocks, reversed(skips) if self.use_skips else [None] * len(blocks)):
            if skip is None:
                x = block(x)
            elif self.fast:  # ConvT(cat([x, s])) = ConvT_x(x) + ConvT_s(s): the skip half once per source frame
                conv = block[0]
                c = x.shape[1]
                x_part = conv_transpose(x, conv.weight[:c], conv.bias, conv)  # (N, c_out, 2s, 2s)
                s_part = conv_transpose(skip, conv.weight[c:], None, conv)  # (M, c_out, 2s, 2s)
                x = block[1:](x_part + _repeat(s_part, uses, len(x)))  # BN + LeakyReLU (or the output layer)
            else:
                x = block(torch.cat([x, _repeat(skip, uses, len(x))], 1))  # (N, 2 w, s, s) -> (N, w', 2s, 2s)
        return x  # (N, C, S, S)


def _repeat(x: torch.Tensor, uses: int | torch.Tensor, n: int) -> torch.Tensor:
    """Row m of ``x`` repeated ``uses[m]`` times (n rows in all)."""
    if isinstance(uses, int):
        return x if uses == 1 else x.repeat_interleave(uses, 0)
    return x.repeat_interleave(uses, 0, output_size=n)


class AudioEncoder(nn.Module):
    """Per-frame audio feature (N, bins * steps) viewed as (N, 1, bins, steps) -> (N, dim)."""

    def __init__(self, patch: tuple[int, int], dim: int = 128, base: int = 64, fast: bool = False) -> None:
        super().__init__()
        self.patch = patch
        h, w = patch[0] - 3, patch[1] - 3
        if h < 1 or w < 1:
            raise ConfigError(f"audio patch {patch} too small for the audio encoder (needs both sides >= 4)")
        layers: list[nn.Module] = [_conv(fast)(1, base, 4, 1, 0), nn.BatchNorm2d(base), nn.LeakyReLU(0.2, True)]
        c = base
        while h >= 4 and w >= 4 and c < 512:
            layers.append(_down(c, c * 2, fast))
            c, h, w = c * 2, h // 2, w // 2
        layers += [_conv(fast)(c, dim, (h, w)), nn.BatchNorm2d(dim), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.net(a.reshape(-1, 1, *self.patch)).flatten(1)  # (N, dim)


class FlatAudioEncoder(nn.Module):
    """(N, F) per-frame feature without a patch layout (e.g. raw samples) -> (N, dim): Linear-BN-LReLU x2, Tanh."""

    def __init__(self, in_dim: int, dim: int = 128, hidden: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Linear(hidden, dim), nn.BatchNorm1d(dim), nn.Tanh())

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.net(a.reshape(a.shape[0], -1))  # (N, dim)


def make_audio_encoder(spec: DataSpec, dim: int = 128, base: int = 64) -> nn.Module:
    """Per-frame audio encoder (N, F) -> (N, dim) for the audio feature of ``spec``: the conv ``AudioEncoder`` for
    a (bins, steps) patch (stft, mel), an MLP over the flat feature otherwise (raw)."""
    if spec.audio_patch is not None:
        return AudioEncoder(tuple(spec.audio_patch), dim, base)
    return FlatAudioEncoder(spec.audio_dim, dim, hidden=8 * base)


class ConvCritic(nn.Module):
    """(N, C, S, S) -> (N, out_dim): [Conv 4x4 s2 (+BN from layer 2) + LReLU] x n, then Conv over the final map."""

    def __init__(self, channels: int, side: int, out_dim: int = 1, base: int = 64) -> None:
        super().__init__()
        widths, final = encoder_widths(side, base)
        layers: list[nn.Module] = []
        for i, (cin, cout) in enumerate(zip([channels] + widths[:-1], widths)):
            layers.append(nn.Conv2d(cin, cout, 4, 2, 1))
            if i > 0:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        layers.append(nn.Conv2d(widths[-1], out_dim, final))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1)  # (N, out_dim)
