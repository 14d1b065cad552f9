"""The Sound2Sight ablations of the paper (Table 1 and Fig. 5a): the same model with one part switched off or swapped.

Each is a registered model of its own (``MODELS``), so that its runs, rows and checkpoints carry its name.
"""
from __future__ import annotations

from dataclasses import dataclass

from .sound2sight import Config, Sound2Sight


@dataclass
class NoAAConfig(Config):
    aa: bool = False


@dataclass
class NoAAMDConfig(Config):
    aa: bool = False
    md: bool = False


@dataclass
class NoAudioConfig(Config):
    use_audio: bool = False


@dataclass
class LSTMConfig(Config):
    temporal: str = "lstm"


class Sound2SightNoAA(Sound2Sight):
    """Ablation "Ours - No AA" (Table 1): no audio-alignment negatives in the discriminator."""

    name = "sound2sight_no_aa"
    Config = NoAAConfig


class Sound2SightNoAAMD(Sound2Sight):
    """Ablation "Ours - No AA, MD" (Table 1): only the per-frame D_std head."""

    name = "sound2sight_no_aa_md"
    Config = NoAAMDConfig


class Sound2SightNoAudio(Sound2Sight):
    """Ablation "Ours - No audio" (Table 1): video-only stochastic network and discriminator."""

    name = "sound2sight_no_audio"
    uses_audio = False
    Config = NoAudioConfig


class Sound2SightLSTM(Sound2Sight):
    """Ablation of Fig. 5a: 128-d LSTMs instead of the three transformers."""

    name = "sound2sight_lstm"
    Config = LSTMConfig
