"""Every model the harness runs, one file each, registered by name in ``s2sbench.models.MODELS``."""
