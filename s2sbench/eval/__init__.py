"""Evaluation: ``evaluate`` samples a trained model on an opened dataset's test split (best-of-N) into the fields of a
``RunResult`` (plan -> sample -> score -> extras -> writers); ``metrics`` is the ``METRICS`` registry (paper SSIM,
standard SSIM, PSNR, ...: every registered one is computed and its version recorded), ``protocols`` the
``PROTOCOLS`` that reduce samples to per-clip curves and ``PAPER``, the paper's protocol, SSIM and Table 3 metric
named once; ``block`` locates M3SO's block (the ``block_iou`` metric), ``diversity`` scores sample spread,
``samples`` stores predictions, ``validation`` is the model-selection score the runner hands to the trainer.
``truth_metrics`` adds the ground-truth metrics (digit localisation, foreground SSIM, block IoU) to ``METRICS``,
``lpips`` (per frame) and ``fvd`` (per set) the learned ones, here, so that every user of the registry sees them;
``set_scores`` streams the set-level metrics through an evaluation.
"""
# in registration order (= report column order), not sorted
from s2sbench.eval import truth_metrics as _truth_metrics  # noqa: F401, I001  (registers its metrics)
from s2sbench.eval import lpips as _lpips  # noqa: F401  (registers LPIPS)
from s2sbench.eval import fvd as _fvd  # noqa: F401  (registers FVD)
