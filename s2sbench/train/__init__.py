"""Training: ``trainer`` runs a ``VideoPredictor``'s own training steps (device choice, bf16 autocast, budgets,
validation, state-dict checkpoints, exact resume), ``distributed`` holds the ``torchrun`` process-group helpers,
``batches`` the step-indexed training batches, ``state`` the RNG state of exact resume, ``logs`` the CSV and
TensorBoard logs, ``presets`` names the run sizes (smoke, quick, board, paper) and ``runner`` is ``s2sbench run``: it
opens the dataset once, trains, evaluates and writes the run directory.
"""
