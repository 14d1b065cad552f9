"""Evaluation: ``evaluate`` samples a trained model on a test split (best-of-N) into a ``RunResult``; ``metrics`` is
the ``METRICS`` registry (paper SSIM, standard SSIM, PSNR, ...: every registered one is computed and its version
recorded), ``protocols`` reduces samples to per-clip curves (``best_per_frame`` as the paper, ``best_sequence``),
``block`` locates M3SO's block for Table 3's IoU, ``diversity`` scores sample spread, and ``samples`` stores
predictions and grids.
"""
