"""Evaluation: ``evaluate`` samples a trained model on a test split (best-of-N) into a ``RunResult``; ``metrics`` is
the ``METRICS`` registry (paper SSIM, standard SSIM, PSNR, ...: every registered one is computed and its version
recorded), ``protocols`` reduces samples to per-clip curves (``best_per_frame`` as the paper, ``best_sequence``),
``block`` locates M3SO's block for Table 3's IoU, ``diversity`` scores sample spread, and ``samples`` stores
predictions and grids. ``truth_metrics`` adds the ground-truth metrics (digit localisation, foreground SSIM,
per-frame block IoU) to ``METRICS``, here, so that every user of the registry sees them.
"""
from s2sbench.eval import truth_metrics as _truth_metrics  # noqa: F401  (registers its metrics)
