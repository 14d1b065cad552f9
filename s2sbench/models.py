"""The model registry ``MODELS`` (name -> class, loaded lazily) and ``build_model``; also the one import a model
file needs: the contract (``DataSpec``, ``VideoPredictor``, from ``s2sbench.predictor``). Checkpoints are the
training layer's (``s2sbench.train.checkpoint``: ``save_checkpoint``, ``load_checkpoint``).

Adding a model: its file in ``baselines/`` and one line of ``MODELS``; or, from another package, an entry point of
the group ``MODEL_ENTRY_POINTS`` (``[project.entry-points."s2sbench.models"] my_model = "my_pkg.model:MyModel"``),
read the first time ``MODELS`` is used (``docs/extending.md``).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from s2sbench.config import from_dict
from s2sbench.predictor import DataSpec, VideoPredictor
from s2sbench.registry import Registry

__all__ = ["MODELS", "MODEL_ENTRY_POINTS", "DataSpec", "VideoPredictor", "build_model"]

MODEL_ENTRY_POINTS = "s2sbench.models"  # other packages' models: entry points of this group

# name -> "module:Class". Adding a model: its file in baselines/ and one line here (or an entry point elsewhere).
MODELS: Registry[type[VideoPredictor]] = Registry("model", group=MODEL_ENTRY_POINTS, lazy={
    "copy_last": "s2sbench.baselines.copy_last:CopyLast",
    "constant_background": "s2sbench.baselines.constant_background:ConstantBackground",
    "mean_frame": "s2sbench.baselines.mean_frame:MeanFrame",
    "sound2sight": "s2sbench.baselines.sound2sight:Sound2Sight",
    "sound2sight_no_aa": "s2sbench.baselines.sound2sight_ablations:Sound2SightNoAA",
    "sound2sight_no_aa_md": "s2sbench.baselines.sound2sight_ablations:Sound2SightNoAAMD",
    "sound2sight_no_audio": "s2sbench.baselines.sound2sight_ablations:Sound2SightNoAudio",
    "sound2sight_lstm": "s2sbench.baselines.sound2sight_ablations:Sound2SightLSTM",
    "svg_lp": "s2sbench.baselines.svg_lp:SVGLP",
    "ddpae": "s2sbench.baselines.ddpae:DDPAE",
    "vougioukas": "s2sbench.baselines.vougioukas:Vougioukas",
    "vougioukas_multiframe": "s2sbench.baselines.vougioukas:VougioukasMultiFrame",
    "audio_only": "s2sbench.baselines.audio_only:AudioOnly",
})


def build_model(name: str, spec: DataSpec, config: Mapping[str, Any] | Any | None = None) -> VideoPredictor:
    """Instantiate registered model ``name``; ``config`` is its Config, a dict of overrides, or None (paper)."""
    cls = MODELS.get(name)
    if isinstance(config, Mapping):
        config = from_dict(cls.Config, config) if dataclasses.is_dataclass(cls.Config) else config
    return cls(spec, config)

