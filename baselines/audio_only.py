"""``audio_only``: sequence-to-sequence video generation from the audio alone, the paper's "Audio Only" baseline.

The Sound2Sight paper (Chatterjee & Cherian, ECCV 2020, section 4) describes it as "a sequence-to-sequence model
[Sutskever et al., NeurIPS 2014] taking only the audio as input and generate the frames using an LSTM (thus, the
past context is missing)". No code was released; this is our reading of that sentence.

Model: a per-frame audio encoder (the Sound2Sight STFT conv encoder, 128-d; an MLP for features without a patch
layout) embeds a_1..a_T; an encoder LSTM (2 x 256) reads the embeddings of the whole clip in reverse order (the
seq2seq input reversal); a decoder LSTM (2 x 256), initialised with the encoder's final state, is unrolled over
t = 1..T, fed its own previous output (128-d) and the aligned audio embedding a_t; a skip-free DCGAN decoder turns
each output into a frame (Sigmoid; ``output="clamp"``, as ``quick()``, clamps instead). Loss: per-pixel mean MSE
over all T frames. ``sample`` ignores the seen frames and returns the last ``n_future`` generated frames, the same
for every sample (deterministic).

Deviations from the original:
- Sizes are a compact design (2 x 256 LSTMs) instead of the seq2seq paper's 4 x 1000.
- The decoder sees the aligned audio embedding at every step (as Sound2Sight conditions every frame on its audio),
  not only the encoder's summary; the whole clip's audio, seen and future, is the input.
- The decoder generates every frame of the clip (seen and predicted) and is trained on all of them; only the
  predicted frames are returned. The seen frames are never an input.
- Deterministic (S = 1 repeated to the requested number of samples).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from s2sbench.data.loader import Batch
from s2sbench.models import DataSpec, VideoPredictor

from ._common import eval_mode, frame_side, repeat_samples
from ._conv import FrameDecoder, init_weights, make_audio_encoder


@dataclass
class AudioOnlyConfig:
    audio_dim: int = 128  # per-frame audio embedding
    hidden: int = 256
    layers: int = 2
    g_dim: int = 128  # decoder output = frame latent
    base: int = 64  # channels of the audio encoder's and frame decoder's first layer
    lr: float = 2e-3
    adam_beta1: float = 0.9
    output: str = "sigmoid"  # the frame decoder's last layer: "sigmoid" or "clamp" (_conv.UnitClamp)

    @classmethod
    def tiny(cls) -> "AudioOnlyConfig":
        return cls(audio_dim=16, hidden=32, layers=1, g_dim=16, base=8, output="clamp")

    @classmethod
    def quick(cls) -> "AudioOnlyConfig":
        """CPU budget runs (``--preset quick``): conv widths halved and a clamped output layer (a Sigmoid under
        MSE reaches a black background too slowly for a short run: ``_conv``), else as the paper."""
        return cls(base=32, output="clamp")


class AudioOnly(VideoPredictor):
    name = "audio_only"
    modality = "A"  # the paper's tables: unimodal audio (reads no frames)
    uses_audio = True
    stochastic = False
    cpu_bf16 = True  # bf16 autocast on CPUs with native bf16 (train.precision=auto): measured faster, still learns
    Config = AudioOnlyConfig

    def __init__(self, spec: DataSpec, config: AudioOnlyConfig | None = None) -> None:
        super().__init__(spec, config)
        c = self.config
        self.audio_encoder = make_audio_encoder(spec, c.audio_dim, c.base)
        self.encoder = nn.LSTM(c.audio_dim, c.hidden, c.layers, batch_first=True)
        self.decoder = nn.LSTM(c.g_dim + c.audio_dim, c.hidden, c.layers, batch_first=True)
        self.to_latent = nn.Sequential(nn.Linear(c.hidden, c.g_dim), nn.Tanh())
        self.frame_decoder = FrameDecoder(spec.channels, frame_side(spec), c.g_dim, c.base, skips=False,
                                          output=c.output)
        for m in (self.audio_encoder, self.to_latent, self.frame_decoder):
            m.apply(init_weights)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"model": torch.optim.Adam(self.parameters(), lr=self.config.lr, betas=(self.config.adam_beta1, 0.999))}

    def generate(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio (B, T, F) -> frames (B, T, C, H, W) for every time step of the clip."""
        B, T = audio.shape[:2]
        a = self.audio_encoder(audio.flatten(0, 1)).view(B, T, -1)  # (B, T, A)
        _, state = self.encoder(a.flip(1))  # reversed input; state: 2 x (layers, B, hidden)
        prev = a.new_zeros(B, 1, self.config.g_dim)  # (B, 1, g)
        latents = []
        for t in range(T):
            out, state = self.decoder(torch.cat([prev, a[:, t : t + 1]], 2), state)  # (B, 1, hidden)
            prev = self.to_latent(out)  # (B, 1, g)
            latents.append(prev)
        g = torch.cat(latents, 1).flatten(0, 1)  # (B*T, g)
        return self.frame_decoder(g).view(B, T, self.spec.channels, self.spec.height, self.spec.width)

    def training_step(self, batch: Batch, opt: dict[str, torch.optim.Optimizer], step: int) -> dict[str, float]:
        x = batch.video  # (B, T, C, H, W)
        x_hat = self.generate(batch.audio)  # (B, T, C, H, W)
        loss = torch.mean((x_hat - x) ** 2)
        o = opt["model"]
        o.zero_grad(set_to_none=True)
        self.backward(loss)
        o.step()
        future = torch.mean((x_hat[:, self.spec.n_past :] - x[:, self.spec.n_past :]) ** 2)
        return {"loss": loss.item(), "mse_future": future.item()}

    def sample(self, context: torch.Tensor, audio: torch.Tensor, n_future: int, n_samples: int) -> torch.Tensor:
        with eval_mode(self):
            frames = self.generate(audio)[:, -n_future:]  # (B, n_future, C, H, W)
        return repeat_samples(frames, n_samples)  # (B, S, n_future, C, H, W)
