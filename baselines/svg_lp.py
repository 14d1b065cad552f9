"""``svg_lp``: stochastic video generation with a learned prior, the paper's video-only baseline "Denton and Fergus".

E. Denton and R. Fergus, "Stochastic Video Generation with a Learned Prior", ICML 2018 (reference code
``edenton/svg`` @ 3f19f0b). Re-implemented from the paper and ``shared/reference/baselines.md`` section 1.

Model: a DCGAN frame encoder with skips (``_blocks.FrameEncoder``: 3 stride-2 layers at 48x48, 4 at 64x64) maps
x_t to h_t (128-d); a posterior Gaussian LSTM q(z_t | h_t) and a learned prior p(z_t | h_{t-1}) (1 layer, 256 hidden,
z 10-d); a 2-layer predictor LSTM maps [h_{t-1}, z_t] to the next embedding, which the decoder (with the skips of
the last seen frame) turns into x_t. Training uses teacher forcing and the posterior z:
    L = sum_t MSE_mean(x_hat_t, x_t) + beta * sum_t KL(q_t || p_t),   beta = 1e-4, both sums over t = 1..T-1.
Sampling warms the LSTMs on the seen frames (posterior z), then draws z from the prior and feeds each generated
frame back in; every sample is its own roll-out (the S samples run side by side as a batch of B * S).

Deviations from the original:
- Skip rule: the decoder always uses the skips of the last seen frame x_{n_past-1} (Sound2Sight's ``<=``), not
  x_{n_past-2} (the original's off-by-one, SVG issue #1); ``last_frame_skip=True`` uses the previous frame's skips.
- BatchNorm: sampling runs in ``eval()`` mode (running statistics); the original sampler kept the encoder and decoder
  in train mode (batch statistics, SVG issue #15).
- All frames of a clip are encoded (and all predicted embeddings decoded) in one batched call, so BatchNorm
  statistics in training are over B * T frames instead of B frames per time step.
- One Adam over all parameters instead of five Adams with identical settings (the same update: Adam is
  per-parameter).
- Hidden states are built from the input's batch size and device (the original fixed them at construction).
- Frames at 48x48 use the Sound2Sight dcgan_48 layout (3 downsamplings + a 6x6 kernel); no audio is used.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from s2sbench.data.loader import Batch
from s2sbench.models import DataSpec, VideoPredictor

from ._baseline_blocks import eval_mode, frame_side
from ._blocks import FrameDecoder, FrameEncoder, GaussianLSTM, LSTMStack, init_weights, kl_gaussians


@dataclass
class SVGLPConfig:
    g_dim: int = 128  # frame embedding
    z_dim: int = 10
    rnn_size: int = 256
    predictor_layers: int = 2
    posterior_layers: int = 1
    prior_layers: int = 1
    base: int = 64  # channels of the first conv layer (64, 128, 256, 512)
    beta: float = 1e-4  # KL weight, relative to the per-pixel mean MSE
    lr: float = 2e-3
    adam_beta1: float = 0.9
    last_frame_skip: bool = False
    output: str = "sigmoid"  # the decoder's last layer: "sigmoid" (original) or "clamp" (_blocks.UnitClamp)

    @classmethod
    def tiny(cls) -> "SVGLPConfig":
        return cls(g_dim=16, z_dim=4, rnn_size=32, base=8, output="clamp")

    @classmethod
    def quick(cls) -> "SVGLPConfig":
        """CPU budget runs (``--preset quick``): conv widths halved (32-64-128) and a clamped output layer (a
        Sigmoid under MSE reaches a black background too slowly for a short run: ``_blocks``), else as the paper."""
        return cls(base=32, output="clamp")


class SVGLP(VideoPredictor):
    name = "svg_lp"
    uses_audio = False
    stochastic = True
    Config = SVGLPConfig

    def __init__(self, spec: DataSpec, config: SVGLPConfig | None = None) -> None:
        super().__init__(spec, config)
        c, side = self.config, frame_side(spec)
        self.encoder = FrameEncoder(spec.channels, side, c.g_dim, c.base)
        self.decoder = FrameDecoder(spec.channels, side, c.g_dim, c.base, output=c.output)
        self.predictor = LSTMStack(c.g_dim + c.z_dim, c.g_dim, c.rnn_size, c.predictor_layers)
        self.posterior = GaussianLSTM(c.g_dim, c.z_dim, c.rnn_size, c.posterior_layers)
        self.prior = GaussianLSTM(c.g_dim, c.z_dim, c.rnn_size, c.prior_layers)
        for m in (self.encoder, self.decoder, self.predictor, self.posterior, self.prior):
            m.apply(init_weights)
        self.reset_lstms(1)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"model": torch.optim.Adam(self.parameters(), lr=self.config.lr, betas=(self.config.adam_beta1, 0.999))}

    def reset_lstms(self, batch: int, device: torch.device | None = None) -> None:
        for m in (self.predictor, self.posterior, self.prior):
            m.reset(batch, device)

    def _skip_index(self, t: int) -> int:
        """Index of the frame whose skips decode x_t."""
        return t - 1 if self.config.last_frame_skip else min(t - 1, self.spec.n_past - 1)

    def _encode(self, frames: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        B, T = frames.shape[:2]
        h, skips = self.encoder(frames.flatten(0, 1))  # (B*T, g), [(B*T, w, s, s)]
        return h.view(B, T, -1), [s.view(B, T, *s.shape[1:]) for s in skips]  # (B, T, g), [(B, T, w, s, s)]

    def training_step(self, batch: Batch, opt: dict[str, torch.optim.Optimizer], step: int) -> dict[str, float]:
        x = batch.video  # (B, T, C, H, W)
        B, T = x.shape[:2]
        self.reset_lstms(B, x.device)
        h, skips = self._encode(x)  # (B, T, g), [(B, T, w, s, s)]
        preds, kls = [], []
        for t in range(1, T):
            z, mu_q, logvar_q = self.posterior(h[:, t])  # (B, z) each
            _, mu_p, logvar_p = self.prior(h[:, t - 1])  # (B, z) each
            preds.append(self.predictor(torch.cat([h[:, t - 1], z], 1)))  # (B, g)
            kls.append(kl_gaussians(mu_q, logvar_q, mu_p, logvar_p))
        idx = torch.tensor([self._skip_index(t) for t in range(1, T)], device=x.device)
        dec_skips = [s[:, idx].flatten(0, 1) for s in skips]  # [(B*(T-1), w, s, s)]
        x_hat = self.decoder(torch.stack(preds, 1).flatten(0, 1), dec_skips).view_as(x[:, 1:])  # (B, T-1, C, H, W)
        mse = ((x_hat - x[:, 1:]) ** 2).mean(dim=(0, 2, 3, 4)).sum()  # sum over t of the per-pixel mean
        kl = torch.stack(kls).sum()
        loss = mse + self.config.beta * kl
        o = opt["model"]
        o.zero_grad(set_to_none=True)
        self.backward(loss)
        o.step()
        return {"loss": loss.item(), "mse": mse.item(), "kl": kl.item()}

    def sample(self, context: torch.Tensor, audio: torch.Tensor, n_future: int, n_samples: int) -> torch.Tensor:
        B, P, C, H, W = context.shape
        with eval_mode(self):
            self.reset_lstms(B * n_samples, context.device)
            h, skips = self._encode(context)  # (B, P, g), [(B, P, w, s, s)]: once per clip
            h = h.repeat_interleave(n_samples, 0)  # (B*S, P, g)
            frame_skips = [s[:, P - 1].repeat_interleave(n_samples, 0) for s in skips]  # [(B*S, w, s, s)], frame P-1
            h_prev, outs = h[:, 0], []
            for t in range(1, P + n_future):
                if t < P:  # warm-up on the seen frames with the posterior z
                    z, _, _ = self.posterior(h[:, t])  # (B*S, z)
                    self.prior(h_prev)
                    self.predictor(torch.cat([h_prev, z], 1))
                    h_prev = h[:, t]  # (B*S, g)
                    continue
                z, _, _ = self.prior(h_prev)  # (B*S, z)
                g = self.predictor(torch.cat([h_prev, z], 1))  # (B*S, g)
                frame = self.decoder(g, frame_skips)  # (B*S, C, H, W)
                outs.append(frame)
                h_prev, new_skips = self.encoder(frame)  # (B*S, g), [(B*S, w, s, s)]
                if self.config.last_frame_skip:
                    frame_skips = new_skips
            return torch.stack(outs, 1).view(B, n_samples, n_future, C, H, W)  # (B, S, n_future, C, H, W)
