"""``svg_lp``: stochastic video generation with a learned prior, the paper's video-only baseline "Denton and Fergus".

E. Denton and R. Fergus, "Stochastic Video Generation with a Learned Prior", ICML 2018 (reference code
``edenton/svg`` @ 3f19f0b), re-implemented from the paper.

Model (the SVG-LP backbone that Sound2Sight shares; ``_conv`` and ``_sequence``): a DCGAN frame encoder with skips
(3 stride-2 layers at 48x48, 4 at 64x64) maps x_t to h_t (128-d); a posterior Gaussian LSTM q(z_t | h_t) and a
learned prior p(z_t | h_{t-1}) (1 layer, 256 hidden, z 10-d); a 2-layer predictor LSTM maps [h_{t-1}, z_t] to the
next embedding, which the decoder (with the skips of the last seen frame) turns into x_t. Training uses teacher
forcing and the posterior z:
    L = sum_t MSE_mean(x_hat_t, x_t) + beta * sum_t KL(q_t || p_t),   beta = 1e-4, both sums over t = 1..T-1.
Sampling warms the LSTMs up on the seen frames (posterior z), then draws z from the prior and feeds each generated
frame back in; every sample is its own roll-out (the S samples run side by side as a batch of B * S).

Deviations from the original:
- Skip rule: the decoder always uses the skips of the last seen frame x_{n_past-1} (Sound2Sight's ``<=``), not
  x_{n_past-2} (the original's off-by-one, SVG issue #1); ``last_frame_skip=True`` uses the previous frame's skips.
- BatchNorm: sampling runs in ``eval()`` mode (running statistics); the original sampler kept the encoder and decoder
  in train mode (batch statistics, SVG issue #15).
- All frames of a clip are encoded (and all predicted embeddings decoded) in one batched call, and each LSTM runs
  over the whole sequence in one call, so BatchNorm statistics in training are over B * T frames instead of B frames
  per time step.
- One Adam over all parameters instead of five Adams with identical settings (the same update: Adam is
  per-parameter).
- Hidden states are built from the input's batch size and device (the original fixed them at construction).
- Frames at 48x48 use the Sound2Sight dcgan_48 layout (3 downsamplings + a 6x6 kernel); no audio is used.

Computation: ``Config.fast`` (default) selects the CPU fast path of the conv blocks (``_conv``, channels_last), equal
to the plain modules (``fast=False``) up to float rounding, with the same state dict.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from s2sbench.data.loader import Batch
from s2sbench.models import DataSpec, VideoPredictor

from ._common import eval_mode, frame_side
from ._conv import FrameDecoder, FrameEncoder, init_weights
from ._sequence import GaussianLSTM, PredictorLSTM, kl_gaussians, reparameterise


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
    output: str = "sigmoid"  # the decoder's last layer: "sigmoid" (original) or "clamp" (_conv.UnitClamp)
    fast: bool = True  # the CPU fast path of the conv blocks (_conv, channels_last); False: plain nn modules

    @classmethod
    def tiny(cls) -> "SVGLPConfig":
        """Tests. LSTMs of 64: at 32 its prior rollouts on the learning test's 4 memorised clips swung between 0.74
        and 0.98 from step to step over steps 150-300 (on an Intel Xeon; on an AMD EPYC the last two happened to
        pass); at 64 they stay at 0.94-0.999 over three sampling schedules (docs/training-dynamics.md)."""
        return cls(g_dim=16, z_dim=4, rnn_size=64, base=8, output="clamp")

    @classmethod
    def quick(cls) -> "SVGLPConfig":
        """CPU budget runs (``--preset quick``): conv widths halved (32-64-128) and a clamped output layer (a
        Sigmoid under MSE reaches a black background too slowly for a short run: ``_conv``), else as the paper."""
        return cls(base=32, output="clamp")


class SVGLP(VideoPredictor):
    name = "svg_lp"
    uses_audio = False
    stochastic = True
    cpu_bf16 = True  # bf16 autocast on CPUs with native bf16 (train.precision=auto): measured faster, still learns
    Config = SVGLPConfig

    def __init__(self, spec: DataSpec, config: SVGLPConfig | None = None) -> None:
        super().__init__(spec, config)
        c, side = self.config, frame_side(spec)
        self.encoder = FrameEncoder(spec.channels, side, c.g_dim, c.base, c.fast)
        self.decoder = FrameDecoder(spec.channels, side, c.g_dim, c.base, output=c.output, fast=c.fast)
        self.predictor = PredictorLSTM(c.g_dim + c.z_dim, c.g_dim, c.rnn_size, c.predictor_layers)
        self.posterior = GaussianLSTM(c.g_dim, c.z_dim, c.rnn_size, c.posterior_layers)
        self.prior = GaussianLSTM(c.g_dim, c.z_dim, c.rnn_size, c.prior_layers)
        for m in (self.encoder, self.decoder, self.predictor, self.posterior, self.prior):
            m.apply(init_weights)
        if c.fast:
            self.to(memory_format=torch.channels_last)

    def _frames(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.config.fast else x

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"model": torch.optim.Adam(self.parameters(), lr=self.config.lr, betas=(self.config.adam_beta1, 0.999))}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The teacher-forced pass over clips (B, T, C, H, W): the predictions of x_1..x_{T-1} as ``pred``
        (B, T-1, C, H, W) and the posterior and prior parameters of the same steps, (B, T-1, z_dim) each."""
        B, T, C, H, W = x.shape
        h, skips = self.encoder(self._frames(x.flatten(0, 1)))  # (B*T, g), [(B*T, w, s, s)]
        h = h.view(B, T, -1)  # (B, T, g)
        mu_q, lv_q, _ = self.posterior(h[:, 1:])  # q(z_t | x_t): (B, T-1, z)
        mu_p, lv_p, _ = self.prior(h[:, :-1])  # p(z_t | x_{t-1}): (B, T-1, z)
        eta, _ = self.predictor(torch.cat([h[:, :-1], reparameterise(mu_q, lv_q)], -1))  # (B, T-1, g)
        # Step t decodes with the skips of x_{t-1} while it is a seen frame, then with those of the last seen frame
        # x_{n_past-1} (``last_frame_skip``: always x_{t-1}'s): one step per source frame, the rest on the last one.
        n = T - 1 if self.config.last_frame_skip else self.spec.n_past  # source frames x_0..x_{n-1}
        sources = [s.view(B, T, *s.shape[1:])[:, :n].flatten(0, 1) for s in skips]  # [(B*n, w, s, s)]
        uses = torch.tensor([1] * (n - 1) + [T - n], device=x.device).repeat(B)  # (B*n,)
        pred = self.decoder(eta.flatten(0, 1), sources, uses).view(B, T - 1, C, H, W)
        return {"pred": pred, "mu_q": mu_q, "lv_q": lv_q, "mu_p": mu_p, "lv_p": lv_p}

    def training_step(self, batch: Batch, opt: dict[str, torch.optim.Optimizer], step: int) -> dict[str, float]:
        x = batch.video  # (B, T, C, H, W)
        out = self(x)
        mse = ((out["pred"] - x[:, 1:]) ** 2).mean(dim=(0, 2, 3, 4)).sum()  # sum over t of the per-pixel mean
        kl = kl_gaussians(out["mu_q"], out["lv_q"], out["mu_p"], out["lv_p"]) * (x.shape[1] - 1)  # sum over t
        loss = mse + self.config.beta * kl
        o = opt["model"]
        o.zero_grad(set_to_none=True)
        self.backward(loss)
        o.step()
        return {"loss": loss.item(), "mse": mse.item(), "kl": kl.item()}

    def sample(self, context: torch.Tensor, audio: torch.Tensor, n_future: int, n_samples: int) -> torch.Tensor:
        B, P, C, H, W = context.shape
        S = n_samples
        with eval_mode(self):
            h, skips = self.encoder(self._frames(context.flatten(0, 1)))  # (B*P, g), [(B*P, w, s, s)]: once per clip
            h = h.view(B, P, -1).repeat_interleave(S, 0)  # (B*S, P, g): rows b*S .. b*S+S-1 are clip b's
            frame_skips, uses = [s.view(B, P, *s.shape[1:])[:, -1] for s in skips], S  # x_{P-1}'s, for S rows each
            prior_state = pred_state = None
            if P > 1:  # warm-up on the seen frames with the posterior z
                mu_q, lv_q, _ = self.posterior(h[:, 1:])  # (B*S, P-1, z)
                _, _, prior_state = self.prior(h[:, :-1])
                _, pred_state = self.predictor(torch.cat([h[:, :-1], reparameterise(mu_q, lv_q)], -1))
            h_prev, outs = h[:, -1:], []  # (B*S, 1, g)
            for t in range(n_future):
                mu, lv, prior_state = self.prior(h_prev, prior_state)  # (B*S, 1, z)
                eta, pred_state = self.predictor(torch.cat([h_prev, reparameterise(mu, lv)], -1), pred_state)
                frame = self.decoder(eta[:, 0], frame_skips, uses)  # (B*S, C, H, W)
                outs.append(frame)
                if t < n_future - 1:
                    h_prev, new_skips = self.encoder(frame)  # (B*S, g), [(B*S, w, s, s)]
                    h_prev = h_prev[:, None]  # (B*S, 1, g)
                    if self.config.last_frame_skip:
                        frame_skips, uses = new_skips, 1
            return torch.stack(outs, 1).view(B, S, n_future, C, H, W)  # (B, S, n_future, C, H, W)
