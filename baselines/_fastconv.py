"""The CPU fast path of the convolutional blocks (``_conv``, ``fast=True``): the same functions, computed as matrix
products where oneDNN is slow on a CPU.

The DCGAN encoders spend most of a training step in oneDNN convolutions, which run near the CPU's peak for the
wide stride-2 layers but far below it for three kinds of layer: a convolution over the whole remaining map (the
encoders' last layer: a linear map), a single-input-channel first layer, and a stride-2 layer with a tiny output (the
audio encoder's 5x4 -> 2x2 layer). ``FastConv2d`` / ``FastConvTranspose2d`` compute those as ``F.linear`` (after a
free NHWC flatten) or ``F.unfold`` + matmul and leave every other shape to ``nn.Conv2d`` (so is a one-input-channel
layer under CPU bf16 autocast, where oneDNN's bf16 kernel is the faster); ``conv_transpose`` computes
a transposed convolution with few output channels (a decoder's image layer) as a matrix product and ``F.fold``. The
parameters and the state dict are those of the ``nn`` modules; only the float summation order differs. On any other
device (CUDA) every form falls back to the ``nn`` computation (cuDNN) on the same parameters.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _plain(conv: nn.Conv2d | nn.ConvTranspose2d, x: torch.Tensor) -> bool:
    """The conv has the geometry the matrix-product forms handle and its input is a 4-d CPU tensor."""
    return (x.device.type == "cpu" and x.dim() == 4 and conv.groups == 1 and conv.dilation == (1, 1)
            and conv.padding_mode == "zeros" and not isinstance(conv.padding, str))


def _bf16_autocast() -> bool:
    """CPU bf16 autocast is on: oneDNN's bf16 kernels then run a one-input-channel layer about 2x faster than im2col."""
    return torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16


class FastConv2d(nn.Conv2d):
    """``nn.Conv2d`` that computes whole-map, one-input-channel and tiny-output convolutions as matrix products."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _plain(self, x):
            return super().forward(x)
        N, C, H, W = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        Ho, Wo = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
        if (kh, kw) == (H, W) and (ph, pw) == (0, 0):  # the kernel covers the map: a linear layer
            if x.is_contiguous(memory_format=torch.channels_last):
                y = F.linear(x.permute(0, 2, 3, 1).reshape(N, -1), self.weight.permute(0, 2, 3, 1).reshape(
                    self.out_channels, -1), self.bias)  # (N, out): the NHWC flatten is a view
            else:
                y = F.linear(x.reshape(N, -1), self.weight.reshape(self.out_channels, -1), self.bias)
            return y[:, :, None, None]  # (N, out, 1, 1)
        if C > 1 and Ho * Wo <= 4 and x.is_contiguous(memory_format=torch.channels_last):  # im2col in NHWC order
            xh = F.pad(x.permute(0, 2, 3, 1), (0, 0, pw, pw, ph, ph)).unfold(1, kh, sh).unfold(2, kw, sw)
            cols = xh.permute(0, 1, 2, 4, 5, 3).reshape(N, Ho * Wo, -1)  # (N, L, kh*kw*C)
            w = self.weight.permute(0, 2, 3, 1).reshape(self.out_channels, -1)  # a view of a channels_last weight
            return F.linear(cols, w, self.bias).view(N, Ho, Wo, -1).permute(0, 3, 1, 2)  # (N, out, Ho, Wo)
        if (C == 1 and not _bf16_autocast()) or Ho * Wo <= 4:  # im2col + one matrix product
            cols = F.unfold(keep_layout(x), (kh, kw), padding=(ph, pw), stride=(sh, sw))  # (N, C*kh*kw, Ho*Wo)
            y = F.linear(cols.transpose(1, 2), self.weight.reshape(self.out_channels, -1), self.bias)  # (N, L, out)
            return y.view(N, Ho, Wo, -1).permute(0, 3, 1, 2)  # (N, out, Ho, Wo) in channels_last layout
        return super().forward(x)


class FastConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` that computes the expansion of a 1x1 map (a decoder's head) as one linear map."""

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if (output_size is None and _plain(self, x) and x.shape[2:] == (1, 1)
                and self.padding == (0, 0) and self.output_padding == (0, 0)):
            kh, kw = self.kernel_size
            w = self.weight.permute(0, 2, 3, 1).reshape(self.in_channels, -1)  # (in, kh*kw*out)
            y = (x.flatten(1) @ w).view(x.shape[0], kh, kw, self.out_channels)  # (N, kh, kw, out)
            if self.bias is not None:
                y = y + self.bias
            return y.permute(0, 3, 1, 2)  # (N, out, kh, kw) in channels_last layout
        return super().forward(x, output_size)


class _KeepLayout(torch.autograd.Function):
    """Identity whose backward returns the gradient in the memory format of the input."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.fmt = next((f for f in (torch.contiguous_format, torch.channels_last) if x.is_contiguous(memory_format=f)),
                       None)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return grad if ctx.fmt is None else grad.contiguous(memory_format=ctx.fmt)


def keep_layout(x: torch.Tensor) -> torch.Tensor:
    """``x`` unchanged; its gradient arrives in ``x``'s layout (e.g. channels_last), so that the backward of the layers
    before it (BatchNorm, LeakyReLU, convolutions) does not run on mixed layouts, which is several times slower."""
    return _KeepLayout.apply(x) if x.requires_grad else x


def conv_transpose(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, conv: nn.ConvTranspose2d
                   ) -> torch.Tensor:
    """``F.conv_transpose2d`` with ``conv``'s geometry; with a few output channels (a decoder's image layer, where
    oneDNN runs at a few GFLOP/s) as one matrix product and ``F.fold`` (col2im)."""
    ci, co = weight.shape[:2]
    if co > 4 or not _plain(conv, x):
        return F.conv_transpose2d(x, weight, bias, conv.stride, conv.padding, conv.output_padding, conv.groups,
                                  conv.dilation)
    N, _, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = conv.kernel_size, conv.stride, conv.padding, conv.output_padding
    Ho, Wo = (H - 1) * sh - 2 * ph + kh + oh, (W - 1) * sw - 2 * pw + kw + ow
    cols = keep_layout(x).permute(0, 2, 3, 1).reshape(N, H * W, ci) @ weight.reshape(ci, -1)  # (N, H*W, co*kh*kw)
    y = F.fold(cols.transpose(1, 2), (Ho, Wo), (kh, kw), padding=(ph, pw), stride=(sh, sw))  # (N, co, Ho, Wo)
    return y if bias is None else y + bias[:, None, None]
