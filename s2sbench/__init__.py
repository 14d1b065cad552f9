"""s2sbench: datasets, baselines and paper-exact evaluation for audio-conditioned video prediction (Sound2Sight).

``s2sbench.load_run(run_dir)`` is the Python API (``s2sbench.api``): a finished run's model and result, ``predict``
on your own clips and ``score``. It is imported on first use, so ``import s2sbench`` stays light."""
__version__ = "0.1.0"

__all__ = ["Run", "load_run", "__version__"]


def __getattr__(name: str):
    if name in ("Run", "load_run"):
        from s2sbench.api import Run, load_run

        return {"Run": Run, "load_run": load_run}[name]
    raise AttributeError(f"module 's2sbench' has no attribute {name!r}")
