"""Projected wall time of the paper-protocol evaluation (1000 clips x 100 samples x 20 frames, M3SO-NB) on this
machine: the metric-scoring part, measured through the real evaluator and extrapolated.

``s2sbench.eval.evaluate.evaluate`` runs on a small fake M3SO-NB test split with a stochastic test model
(``testing_tiny``), 100 samples per clip and all three metrics; the evaluator's own ``scoring_s`` timer (metrics on
every sample and frame) is divided by the clips scored and multiplied by 1000. The reference, measured in the same
run, is a per-frame scikit-image loop over the same three metrics (timed on a sample of frames, extrapolated).
Sampling time depends on the model and is not part of this figure; ``--sampling`` measures it instead: for each
model (board config, ``quick``, untrained weights: speed does not depend on them) the evaluator's sampling stage
(``evaluate._sample``) on ``--clips`` clips x 100 samples, all samples of a clip in one ``sample`` call
(``eval.sample_chunk=0``, the default) against one sample per call (``sample_chunk=1``, timed on ``--one-at-a-time``
samples and scaled to 100), in the same process, and the projected sampling time of a board evaluation (50 clips).

    PYTHONPATH=. python benchmarks/bench_eval.py [--clips 8] [--threads N]
    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_eval.py --sampling [--clips 4] [--models a,b]
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from s2sbench.data.handle import Data
from s2sbench.eval.evaluate import EvalConfig, evaluate
from s2sbench.models import DataSpec, build_model
from s2sbench.testing import write_fake_dataset

FULL_CLIPS, N, T = 1000, 100, 20


def skimage_per_frame(frames: int = 100) -> float:
    rng = np.random.default_rng(0)
    t = rng.random((frames, 48, 48))
    p = np.clip(t + 0.2 * rng.standard_normal(t.shape), 0, 1)
    t0 = time.perf_counter()
    for a, b in zip(p, t):
        structural_similarity(b, a, data_range=2.0)
        structural_similarity(b, a, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
        peak_signal_noise_ratio(b, a, data_range=1.0)
    return (time.perf_counter() - t0) / frames


def sampling(models: str, clips: int, one: int) -> None:
    from s2sbench.eval.evaluate import _sample
    from s2sbench.models import MODELS
    from s2sbench.train.presets import PRESETS

    spec = DataSpec.for_dataset("m3so-nb")
    P, F = spec.n_past, 15  # M3SO-NB: 5 seen, 15 predicted frames in the board's evaluation
    torch.manual_seed(0)
    video, audio = torch.rand(clips, P + F, spec.channels, spec.height, spec.width), torch.rand(clips, P + F,
                                                                                                 spec.audio_dim)
    print(f"sampling stage: {clips} clips x {N} samples x {F} frames, {torch.get_num_threads()} thread(s)")
    print(f"{'model':24s} {'all N/call s':>12s} {'1/call s':>9s} {'ratio':>6s} {'board eval sampling (50 clips)':>31s}")
    for name in models.split(","):
        cls = MODELS.get(name)
        m = cls(spec, PRESETS.get("board").model_config_for(cls)).eval()
        with torch.no_grad():
            _sample(m, video[:1, :P], audio[:1], F, 2, 0)  # warm-up
            t = time.perf_counter()
            _sample(m, video[:, :P], audio, F, N, 0)
            batched = time.perf_counter() - t
            n1 = one if m.stochastic else N
            t = time.perf_counter()
            _sample(m, video[:, :P], audio, F, n1, 1)
            single = (time.perf_counter() - t) * N / n1
        print(f"{name:24s} {batched:12.2f} {single:9.2f} {single / batched:5.1f}x "
              f"{batched * 50 / clips:20.0f} s (1/call: {single * 50 / clips:.0f} s)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sampling", action="store_true", help="time each model's sampling stage instead (see above)")
    ap.add_argument("--models", default="sound2sight,sound2sight_no_audio,svg_lp,vougioukas,vougioukas_multiframe,"
                                        "ddpae,audio_only")
    ap.add_argument("--one-at-a-time", type=int, default=10, help="samples timed one per call (scaled to 100)")
    ap.add_argument("--clips", type=int, default=8, help="test clips actually scored (x 100 samples x 20 frames)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads while scoring (EvalConfig.score_threads; 0: torch's default)")
    args = ap.parse_args()
    if args.sampling:
        return sampling(args.models, args.clips, args.one_at_a_time)
    with tempfile.TemporaryDirectory() as tmp:
        write_fake_dataset(tmp, "m3so-nb", {"train": 4, "val": 4, "test": args.clips})
        torch.manual_seed(0)
        model = build_model("testing_tiny", DataSpec.for_dataset("m3so-nb"), None)
        cfg = EvalConfig(n_samples=N, n_clips=args.clips, save_samples=0, diversity_clips=0, grid_clips=0,
                         score_threads=args.threads)
        out = evaluate(model, Data.open(tmp, "m3so-nb"), cfg, progress=False)
    per_clip = out["eval"]["scoring_s"] / args.clips
    sk = skimage_per_frame()
    print(f"scoring threads: {args.threads or torch.get_num_threads()}; scored {args.clips} clips x {N} samples x "
          f"{T} frames, 3 metrics (ssim_paper, ssim, psnr)")
    print(f"evaluator scoring: {per_clip:.3f} s/clip -> projected {per_clip * FULL_CLIPS / 60:.1f} min "
          f"for {FULL_CLIPS} clips (measured {args.clips}, extrapolated x{FULL_CLIPS / args.clips:.0f})")
    print(f"scikit-image loop: {sk * 1e6:.0f} us/frame for the 3 metrics -> projected "
          f"{sk * FULL_CLIPS * N * T / 3600:.2f} h; ratio {sk * N * T / per_clip:.1f}x")
    print(f"(sampling in this run, tiny test model: {out['eval']['sampling_s']:.2f} s, not included)")


if __name__ == "__main__":
    main()
