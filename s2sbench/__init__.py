"""s2sbench: datasets, baselines and paper-exact evaluation for audio-conditioned video prediction (Sound2Sight)."""
__version__ = "0.1.0"
