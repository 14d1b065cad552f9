"""``vougioukas`` and ``vougioukas_multiframe``: the speech-driven temporal GAN, the paper's multimodal baselines.

K. Vougioukas, S. Petridis and M. Pantic, "End-to-end speech-driven facial animation with temporal GANs",
BMVC 2018 (arXiv:1805.09313, the paper Sound2Sight cites as [56]); the synchronisation discriminator is from the
journal version, "Realistic Speech-Driven Facial Animation with GANs", IJCV 2020. The released code
(``DinoMan/speech-driven-animation``) is inference-only; this follows the papers.

Generator: an identity encoder (DCGAN conv stack, 128-d code + U-Net skips) reads one seen frame (``vougioukas``;
the paper: "predicts the video from audio and the first frame") or all seen frames stacked channel-wise
(``vougioukas_multiframe``, the paper's "Multiple Frames - [56]"); an audio encoder embeds each frame's audio
feature (128-d) and a GRU (256) runs over the whole clip's audio; a noise generator draws 10-d Gaussian noise per
frame (std 0.33) through a GRU + Tanh; for each predicted frame t the U-Net decoder maps [audio_t, identity, noise_t]
with the identity skips (broadcast over time) to a frame. Frames are generated independently given the latents.

Training (one ``training_step`` updates every network; no trainer special case): first the discriminators
(non-saturating BCE: real vs generated), then the generator on
    L_G = 1 * L_frame + 0.2 * L_seq (+ 0.8 * L_sync) + 600 * L1(predicted frames)      (L1: per-pixel mean).
The weights are the IJCV paper's as we read them (lambda_img 1, lambda_sync 0.8, lambda_seq 0.2, L1 600); the
learning rates are G 1e-4, frame D 1e-4, sequence/sync D 1e-5, Adam (0.5, 0.999). The original release has no
training code, so these are our choice.

Deviations from the original:
- Audio: our audio comes as per-frame features (B, T, F) (an STFT patch per video frame by default), not raw
  waveform windows of 0.2 s centred on each frame; the per-frame encoder is Sound2Sight's STFT conv encoder (an MLP
  for features without a patch layout) and the GRU has 1 layer (a compact design).
- Task: frames are predicted only after the seen ones; the audio GRU runs over the seen and the future audio, and
  the sequence discriminator judges the whole clip (real seen frames + predicted frames) with its audio.
- Identity frame: the first seen frame by default (the paper's wording); ``identity="last"`` uses the last seen one.
- Frames stay in [0, 1]: the decoder ends in a Sigmoid (the original used Tanh on [-1, 1] images; ``quick()`` and
  ``tiny()`` clamp to [0, 1] with a straight-through gradient, ``output="clamp"``); DCGAN blocks of
  ``_conv`` (LeakyReLU) sized by the data (48x48: 3 downsamplings + a 6x6 kernel) replace the 96x128 face layout.
- No face alignment, no mouth-region L1 or sync crop: the whole frame is used.
- The sync discriminator (IJCV) is off by default (``sync=False``), since Sound2Sight cites the BMVC version.
  With it on: windows of ``max(2, round(0.2 s * fps))`` frames; real = aligned windows of the real clip, fake =
  the same video with audio from another time of the clip, and generated windows with their audio.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from s2sbench.data.loader import Batch
from s2sbench.errors import ConfigError
from s2sbench.models import DataSpec, VideoPredictor

from ._common import eval_mode, frame_side
from ._conv import FrameDecoder, FrameEncoder, init_weights, make_audio_encoder
from ._vougioukas_disc import FrameDiscriminator, SequenceDiscriminator, SyncDiscriminator

IDENTITY_CHOICES = ("first", "last", "all")
MAX_DECODE_FRAMES = 1024  # frames per decoder call: bounds sampling memory (training batches stay one call)


@dataclass
class VougioukasConfig:
    identity: str = "first"  # which seen frames the identity encoder reads: first, last or all (stacked)
    id_dim: int = 128
    audio_dim: int = 128  # per-frame audio embedding
    audio_rnn: int = 256
    audio_rnn_layers: int = 1
    noise_dim: int = 10
    noise_std: float = 0.33
    base: int = 64  # channels of the first conv layer of every conv stack
    sync: bool = False  # the IJCV synchronisation discriminator
    sync_dim: int = 256
    w_frame: float = 1.0
    w_seq: float = 0.2
    w_sync: float = 0.8
    w_l1: float = 600.0
    lr_g: float = 1e-4
    lr_frame: float = 1e-4
    lr_seq: float = 1e-5
    lr_sync: float = 1e-5
    adam_beta1: float = 0.5
    output: str = "sigmoid"  # the frame decoder's last layer: "sigmoid" or "clamp" (_conv.UnitClamp)

    @classmethod
    def tiny(cls) -> "VougioukasConfig":
        return cls(id_dim=16, audio_dim=16, audio_rnn=16, noise_dim=4, base=8, sync=True, sync_dim=16, lr_g=1e-3,
                   output="clamp")

    @classmethod
    def quick(cls) -> "VougioukasConfig":
        """CPU budget runs (``--preset quick``, about 100 steps): conv widths halved, the generator's learning rate
        raised to 1e-3 (the paper's rate moves the L1 term too little in a run this short) and a clamped output layer
        (a Sigmoid starts every pixel at 0.5 and approaches the black background too slowly for a budget run),
        everything else as the default."""
        return cls(base=32, lr_g=1e-3, output="clamp")


class Generator(nn.Module):
    """Identity input (B, Ci, H, W) + audio (B, T, F) -> n_future frames (B, n_future, C, H, W)."""

    def __init__(self, spec: DataSpec, c: VougioukasConfig, id_channels: int) -> None:
        super().__init__()
        side, self.noise_dim, self.noise_std = frame_side(spec), c.noise_dim, c.noise_std
        self.channels, self.frame_hw = spec.channels, (spec.height, spec.width)
        self.identity = FrameEncoder(id_channels, side, c.id_dim, c.base)
        self.audio = make_audio_encoder(spec, c.audio_dim, c.base)
        self.audio_rnn = nn.GRU(c.audio_dim, c.audio_rnn, c.audio_rnn_layers, batch_first=True)
        self.noise_rnn = nn.GRU(c.noise_dim, c.noise_dim, batch_first=True)
        self.decoder = FrameDecoder(spec.channels, side, c.audio_rnn + c.id_dim + c.noise_dim, c.base, output=c.output)

    def forward(self, identity: torch.Tensor, audio: torch.Tensor, n_future: int, n_samples: int = 1
                ) -> torch.Tensor:
        """-> (B * n_samples, n_future, C, H, W), sample-major within each clip; identity and audio are encoded
        once per clip, only the noise differs between a clip's samples."""
        B, T = audio.shape[:2]
        code, skips = self.identity(identity)  # (B, id), [(B, w, s, s)]
        a = self.audio(audio.flatten(0, 1)).view(B, T, -1)  # (B, T, A)
        a = self.audio_rnn(a)[0][:, T - n_future :]  # (B, n_future, audio_rnn)
        noise = torch.randn(B * n_samples, n_future, self.noise_dim, device=audio.device) * self.noise_std
        n = torch.tanh(self.noise_rnn(noise)[0])  # (B*S, n_future, noise_dim)
        code = code[:, None].expand(-1, n_future, -1)  # (B, n_future, id)
        z = torch.cat([a.repeat_interleave(n_samples, 0), code.repeat_interleave(n_samples, 0), n], 2)
        return self.decode(z, [s.repeat_interleave(n_samples, 0) for s in skips])  # (B*S, n_future, C, H, W)

    def decode(self, z: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        """Latents (N, T, latent) and identity skips [(N, w, s, s)] -> frames (N, T, C, H, W), decoding at most
        ``MAX_DECODE_FRAMES`` frames per call (the skips are broadcast over time per call, never for all T)."""
        N, T = z.shape[:2]
        steps, out = max(1, MAX_DECODE_FRAMES // N), []
        for t0 in range(0, T, steps):
            zt = z[:, t0 : t0 + steps]  # (N, t, latent)
            k = zt.shape[1]
            sk = [s[:, None].expand(-1, k, -1, -1, -1).flatten(0, 1) for s in skips]  # [(N*t, w, s, s)]
            out.append(self.decoder(zt.flatten(0, 1), sk).view(N, k, self.channels, *self.frame_hw))
        return torch.cat(out, 1)  # (N, T, C, H, W)


def _bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


class Vougioukas(VideoPredictor):
    name = "vougioukas"
    uses_audio = True
    stochastic = True
    Config = VougioukasConfig

    def __init__(self, spec: DataSpec, config: VougioukasConfig | None = None) -> None:
        super().__init__(spec, config)
        c, side = self.config, frame_side(spec)
        if c.identity not in IDENTITY_CHOICES:
            raise ConfigError(f"identity must be one of {IDENTITY_CHOICES}, got {c.identity!r}")
        id_channels = spec.channels * (spec.n_past if c.identity == "all" else 1)
        self.generator = Generator(spec, c, id_channels)
        self.frame_d = FrameDiscriminator(spec.channels, id_channels, side, c.base)
        self.seq_d = SequenceDiscriminator(spec, side, c.audio_dim, c.audio_rnn, c.base)
        self.window = max(2, round(0.2 * spec.fps))
        self.sync_d = SyncDiscriminator(spec, side, self.window, c.sync_dim, c.base) if c.sync else None
        self.apply(init_weights)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        nets = {"generator": (self.generator, c.lr_g), "frame_d": (self.frame_d, c.lr_frame),
                "seq_d": (self.seq_d, c.lr_seq)}
        if self.sync_d is not None:
            nets["sync_d"] = (self.sync_d, c.lr_sync)
        return {k: torch.optim.Adam(m.parameters(), lr=lr, betas=(c.adam_beta1, 0.999)) for k, (m, lr) in nets.items()}

    def identity_input(self, context: torch.Tensor) -> torch.Tensor:
        """Seen frames (B, P, C, H, W) -> the identity encoder's input (B, Ci, H, W)."""
        if self.config.identity == "all":
            return context.flatten(1, 2)  # (B, P*C, H, W)
        return context[:, 0 if self.config.identity == "first" else -1]  # (B, C, H, W)

    def _windows(self, video: torch.Tensor, audio: torch.Tensor, starts: torch.Tensor, audio_starts: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows of ``self.window`` steps: video (B, w, C, H, W) from ``starts``, audio (B, w, F) from
        ``audio_starts``."""
        w = min(self.window, video.shape[1])
        steps = torch.arange(w, device=video.device)
        rows = torch.arange(video.shape[0], device=video.device)[:, None]
        return video[rows, starts[:, None] + steps], audio[rows, audio_starts[:, None] + steps]

    def _sync_starts(self, B: int, T: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Random window starts (B,) each: real windows, another start of the same clip (shifted audio), and
        windows that contain a generated frame."""
        w, P = min(self.window, T - 1), self.spec.n_past
        n = T - w + 1  # window starts 0 .. T-w
        real = torch.randint(0, n, (B,), device=device)
        shifted = (real + torch.randint(1, n, (B,), device=device)) % n
        gen = torch.randint(max(0, P - w + 1), n, (B,), device=device)
        return real, shifted, gen

    def training_step(self, batch: Batch, opt: dict[str, torch.optim.Optimizer], step: int) -> dict[str, float]:
        c, P = self.config, self.spec.n_past
        x, audio = batch.video, batch.audio  # (B, T, C, H, W), (B, T, F)
        ident = self.identity_input(x[:, :P])  # (B, Ci, H, W)
        fake = self.generator(ident, audio, x.shape[1] - P)  # (B, T-P, C, H, W)
        real_future = x[:, P:]  # (B, T-P, C, H, W)
        logs: dict[str, float] = {}

        fake_d = fake.detach()
        d_losses = {"frame_d": _bce(self.frame_d(real_future, ident), True) + _bce(self.frame_d(fake_d, ident), False),
                    "seq_d": _bce(self.seq_d(x, audio), True)
                    + _bce(self.seq_d(torch.cat([x[:, :P], fake_d], 1), audio), False)}
        if self.sync_d is not None:
            s_real, s_shift, s_gen = self._sync_starts(x.shape[0], x.shape[1], x.device)
            aligned = self.sync_d(*self._windows(x, audio, s_real, s_real))  # (B, 1)
            shifted = self.sync_d(*self._windows(x, audio, s_real, s_shift))  # (B, 1)
            gen = self.sync_d(*self._windows(torch.cat([x[:, :P], fake_d], 1), audio, s_gen, s_gen))  # (B, 1)
            d_losses["sync_d"] = _bce(aligned, True) + 0.5 * (_bce(shifted, False) + _bce(gen, False))
        for k in d_losses:
            opt[k].zero_grad(set_to_none=True)
        self.backward(sum(d_losses.values()))
        for k, loss in d_losses.items():
            opt[k].step()
            logs[k] = loss.item()

        fake_clip = torch.cat([x[:, :P], fake], 1)  # (B, T, C, H, W)
        l1 = torch.mean(torch.abs(fake - real_future))
        g_frame = _bce(self.frame_d(fake, ident), True)
        g_seq = _bce(self.seq_d(fake_clip, audio), True)
        loss = c.w_frame * g_frame + c.w_seq * g_seq + c.w_l1 * l1
        if self.sync_d is not None:
            s_gen = self._sync_starts(x.shape[0], x.shape[1], x.device)[2]
            g_sync = _bce(self.sync_d(*self._windows(fake_clip, audio, s_gen, s_gen)), True)
            loss = loss + c.w_sync * g_sync
            logs["g_sync"] = g_sync.item()
        opt["generator"].zero_grad(set_to_none=True)
        self.backward(loss)
        opt["generator"].step()
        logs.update(loss=loss.item(), l1=l1.item(), g_frame=g_frame.item(), g_seq=g_seq.item())
        return logs

    def sample(self, context: torch.Tensor, audio: torch.Tensor, n_future: int, n_samples: int) -> torch.Tensor:
        B, _, C, H, W = context.shape
        with eval_mode(self):
            ident = self.identity_input(context)  # (B, Ci, H, W)
            frames = self.generator(ident, audio, n_future, n_samples)  # (B*S, n_future, C, H, W)
        return frames.view(B, n_samples, n_future, C, H, W)  # (B, S, n_future, C, H, W)


@dataclass
class VougioukasMultiFrameConfig(VougioukasConfig):
    identity: str = "all"


class VougioukasMultiFrame(Vougioukas):
    """The paper's "Multiple Frames - [56]": the identity encoder reads all seen frames stacked channel-wise."""

    name = "vougioukas_multiframe"
    Config = VougioukasMultiFrameConfig
