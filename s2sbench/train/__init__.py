"""Training: ``trainer`` runs a ``VideoPredictor``'s own training steps (device choice, bf16 autocast, torchrun,
budgets, validation, state-dict checkpoints, exact resume), ``presets`` names the run sizes (smoke, quick, board,
paper) and ``runner`` is ``s2sbench run``: it opens the dataset once, trains, evaluates and writes the run directory.
"""
