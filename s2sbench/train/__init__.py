"""Training: ``trainer`` runs a ``VideoPredictor``'s own training steps (device choice, bf16 autocast, budgets,
exact resume), ``selection`` holds the validation batches and the score it selects checkpoints on, ``checkpoint``
the state-dict checkpoint format, ``distributed`` the ``torchrun`` process-group helpers (and the gradient averaging
every optimiser gets), ``batches`` the step-indexed training batches, ``state`` the RNG state of exact resume,
``logs`` the CSV and TensorBoard logs, ``presets`` names the run sizes (smoke, quick, board, paper) and ``runner`` is
``s2sbench run``: it opens the dataset once, trains, evaluates and writes the run directory.
"""
