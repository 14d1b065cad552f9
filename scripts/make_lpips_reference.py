"""Make ``tests/data/lpips_reference.npz``: LPIPS distances computed by the ``lpips`` package itself
(``lpips.LPIPS(net="alex", version="0.1", pnet_rand=True)``, its own v0.1 heads) with the deterministic random AlexNet
of ``s2sbench.eval.lpips.random_backbone(0)`` copied into its backbone, on frame pairs of real footage; the reference
that ``tests/test_lpips.py`` checks ``s2sbench.eval.lpips`` against where ``lpips`` (which needs torchvision) is not
installed.

    PYTHONPATH=. /tmp/lpipsref/bin/python scripts/make_lpips_reference.py tests/data/lpips_reference.npz

(a throwaway environment: ``pip install torch torchvision lpips==0.1.4 numpy scipy``). Frames come from
``tests/data/i3d_reference.npz`` (``box.mp4`` of Debian's ``opencv-doc``): grey 48 x 48 pairs (consecutive frames,
a frame and its noisy copy, a frame and its blurred copy) and RGB 64 x 64 pairs, all uint8; the package gets them
as [0, 1] floats with ``normalize=True`` (its own scaling to [-1, 1]), grey repeated to 3 channels. The fixture also
keeps the package's v0.1 alex heads (``head0`` .. ``head4``, 1152 numbers of ``lpips/weights/v0.1/alex.pth``,
BSD-2-Clause), so the check runs where ``lpips`` is not installed.
"""
from __future__ import annotations

import importlib.metadata
import sys

import numpy as np
import scipy.ndimage as ndi
import torch


def pairs() -> dict[str, np.ndarray]:
    data = np.load("tests/data/i3d_reference.npz")
    grey, rgb = data["footage"], data["box"]  # (40, 48, 48), (16, 64, 64, 3)
    rng = np.random.RandomState(0)
    g = grey[[0, 8, 16, 24]]
    noisy = np.clip(g + rng.normal(0, 20, g.shape), 0, 255).round().astype(np.uint8)
    blurred = ndi.gaussian_filter(g.astype(np.float64), (0, 1.5, 1.5)).round().astype(np.uint8)
    grey_a = np.concatenate([g, g, g])
    grey_b = np.concatenate([grey[[1, 9, 17, 25]], noisy, blurred])
    return {"grey_a": grey_a, "grey_b": grey_b, "rgb_a": rgb[[0, 5, 10]], "rgb_b": rgb[[1, 6, 15]]}


def main(out: str) -> None:
    import lpips
    import torchvision

    from s2sbench.eval.lpips import random_backbone

    model = lpips.LPIPS(net="alex", version="0.1", pnet_rand=True, verbose=False).eval()
    state = random_backbone(0)
    convs = [m for m in model.net.modules() if isinstance(m, torch.nn.Conv2d)]  # conv1 .. conv5
    for conv, i in zip(convs, (0, 3, 6, 8, 10)):  # their indices in torchvision's alexnet().features
        conv.weight.data.copy_(state[f"features.{i}.weight"])
        conv.bias.data.copy_(state[f"features.{i}.bias"])
    result = pairs()
    for i, lin in enumerate(model.lins):  # the package's v0.1 heads (BSD-2-Clause data), for machines without it
        result[f"head{i}"] = lin.model[-1].weight.detach().numpy().reshape(-1)
    for kind in ("grey", "rgb"):
        a, b = (torch.from_numpy(result[f"{kind}_{s}"]).float() / 255 for s in "ab")
        a, b = ((x.unsqueeze(1).expand(-1, 3, -1, -1) if kind == "grey" else x.permute(0, 3, 1, 2)) for x in (a, b))
        with torch.no_grad():
            total, layers = model(a, b, retPerLayer=True, normalize=True)
        result[f"{kind}_lpips"] = total.flatten().numpy()
        result[f"{kind}_layers"] = torch.stack([r.flatten() for r in layers], 1).numpy()  # (N, 5)
        print(kind, result[f"{kind}_lpips"])
    versions = (f"lpips {importlib.metadata.version('lpips')}, torch {torch.__version__}, "
                f"torchvision {torchvision.__version__}")
    np.savez_compressed(out, versions=np.array(versions), **result)
    print(f"wrote {out}: {versions}")


if __name__ == "__main__":
    main(*sys.argv[1:])
