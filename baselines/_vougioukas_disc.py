"""The discriminators of the Vougioukas et al. temporal GAN (used by ``baselines/vougioukas.py``).

- ``FrameDiscriminator``: one generated or real frame concatenated channel-wise with the identity input (the
  still frame, or the stacked seen frames for the multi-frame variant) -> one logit (DCGAN conv stack);
- ``SequenceDiscriminator``: a whole clip with its audio (BMVC 2018: sequence-audio pairs): per-step frame
  embedding + audio embedding -> GRU -> a linear classifier on the last state -> one logit;
- ``SyncDiscriminator`` (IJCV 2019): a short window of frames and the window of audio are embedded by two streams;
  the Euclidean distance of the embeddings goes through a one-unit perceptron -> one logit (in sync or not).
"""
from __future__ import annotations

import torch
from torch import nn

from s2sbench.models import DataSpec

from ._conv import ConvCritic, FrameEncoder, make_audio_encoder


class FrameDiscriminator(nn.Module):
    def __init__(self, channels: int, id_channels: int, side: int, base: int = 64) -> None:
        super().__init__()
        self.net = ConvCritic(channels + id_channels, side, 1, base)

    def forward(self, frames: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
        """frames (B, T, C, H, W), identity (B, Ci, H, W) -> logits (B*T, 1)."""
        B, T = frames.shape[:2]
        ident = identity[:, None].expand(-1, T, -1, -1, -1)  # (B, T, Ci, H, W)
        return self.net(torch.cat([frames, ident], 2).flatten(0, 1))  # (B*T, 1)


class SequenceDiscriminator(nn.Module):
    def __init__(self, spec: DataSpec, side: int, dim: int = 128, hidden: int = 256, base: int = 64) -> None:
        super().__init__()
        self.frames = FrameEncoder(spec.channels, side, dim, base)
        self.audio = make_audio_encoder(spec, dim, base)
        self.rnn = nn.GRU(2 * dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """video (B, T, C, H, W), audio (B, T, F) -> logits (B, 1)."""
        B, T = video.shape[:2]
        v = self.frames(video.flatten(0, 1))[0].view(B, T, -1)  # (B, T, dim)
        a = self.audio(audio.flatten(0, 1)).view(B, T, -1)  # (B, T, dim)
        _, h = self.rnn(torch.cat([v, a], 2))  # h: (1, B, hidden)
        return self.out(h[-1])  # (B, 1)


class SyncDiscriminator(nn.Module):
    def __init__(self, spec: DataSpec, side: int, window: int, dim: int = 256, base: int = 64) -> None:
        super().__init__()
        self.window = window
        self.video = ConvCritic(spec.channels * window, side, dim, base)
        self.audio = nn.Sequential(nn.Linear(spec.audio_dim * window, dim), nn.LeakyReLU(0.2, inplace=True),
                                   nn.Linear(dim, dim))
        self.out = nn.Linear(1, 1)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """video window (N, w, C, H, W), audio window (N, w, F) -> logits (N, 1)."""
        v = self.video(video.flatten(1, 2))  # (N, dim)
        a = self.audio(audio.flatten(1))  # (N, dim)
        return self.out(torch.linalg.vector_norm(v - a, dim=1, keepdim=True))  # (N, 1)
