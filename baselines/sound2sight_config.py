"""Sound2Sight's hyper-parameters (``Config``: the paper's by default) and the smaller ``tiny`` / ``quick`` sizes the
presets use; the model is ``sound2sight.Sound2Sight`` and the reasons for each deviation are in its docstring."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Config:
    """Sound2Sight hyper-parameters; the defaults are the paper's (§4 Implementation Details)."""

    g_dim: int = 128  # frame and audio embedding size
    z_dim: int = 10
    rnn_size: int = 256  # hidden size of the predictor, prior and posterior LSTMs
    predictor_layers: int = 2
    prior_layers: int = 1  # prior and posterior LSTM layers
    conv_base: int = 64  # channels of the first encoder layer (doubling per layer, as DCGAN)
    audio_base: int = 64  # channels of the first audio-encoder layer (generator and discriminator; paper: 64)
    temporal: str = "transformer"  # "transformer" or "lstm" (Fig. 5a ablation)
    d_model: int = 256
    heads: int = 4
    dim_ff: int = 128
    tf_layers: int = 1
    tf_dropout: float = 0.1
    pe_dropout: float = 0.2
    lstm_stream_hidden: int = 128  # the LSTM ablation's hidden size (paper: 128)
    use_audio: bool = True
    adversarial: bool = True  # train the discriminator and add the gamma term
    md: bool = True  # motion-dynamics (temporal) head
    aa: bool = True  # audio-alignment negatives
    disc_hidden: int = 256
    disc_history: int = 2  # R
    disc_lookahead: int = 1  # k
    disc_train_encoders: bool = True  # False reproduces the original's frozen discriminator encoders
    lr: float = 2e-3
    disc_lr: float = 2e-3
    beta: float = 1e-4  # KL weight
    gamma: float = 1e-4  # adversarial weight at the start of the adversarial phase
    gamma_schedule: str = "paper"  # "paper": x gamma_factor every gamma_every; "code": x1, x5, x10, x100 (original)
    gamma_factor: float = 10.0
    gamma_every: float = 300 / 1001  # fraction of the run between gamma increases (0: constant)
    adv_warmup: float = 1 / 1001  # fraction of the run without the adversarial term (the original's epoch 0)
    gamma_per: str = "frame"  # gamma weighs L_adv against the reconstruction error "frame" (summed over a frame's
    # pixels, Eq. 2's ||X_t - X^_t||^2: L_adv x gamma / (C H W) next to the per-pixel MSE) or "pixel" (per-pixel MSE)
    z_from: str = "posterior"  # z decoded in training: "posterior" (paper, SVG-LP) or "prior" (original code)
    loss_on_context: bool = False  # True: also score the teacher-forced context steps (original); False: Eq. 2
    output: str = "sigmoid"  # the decoder's last layer: "sigmoid" (original) or "clamp" (_blocks.UnitClamp)
    channels_last: bool = True  # NHWC convolutions (faster on CPU; numerically the same model)

    @classmethod
    def tiny(cls) -> "Config":
        """``--preset smoke`` and tests: every part narrow (about 0.2 M parameters) and the clamped output."""
        return cls(g_dim=16, z_dim=4, rnn_size=32, conv_base=8, audio_base=8, d_model=32, heads=2, dim_ff=16,
                   disc_hidden=16, lstm_stream_hidden=16, output="clamp")

    @classmethod
    def quick(cls) -> "Config":
        """``--preset quick`` (10 CPU minutes): the paper's architecture at half width (conv channels 32-64-128,
        embeddings 64, LSTMs 128, d_model 128), about 4x fewer multiply-adds per step (narrower convolutions
        barely run faster on a CPU), and a clamped output layer instead of the Sigmoid (``_blocks.UnitClamp``: under
        MSE a Sigmoid reaches the black background too slowly for a run of a few hundred updates); every other
        choice (losses, schedule, discriminator) as the paper."""
        return cls(g_dim=64, rnn_size=128, conv_base=32, d_model=128, dim_ff=64, disc_hidden=128, output="clamp")
