"""``ddpae``: decompositional disentangled predictive auto-encoder, the paper's video-only baseline "Hsieh et al.".

J.-T. Hsieh, B. Liu, D.-A. Huang, L. Fei-Fei and J. C. Niebles, "Learning to Decompose and Disentangle
Representations for Video Prediction", NeurIPS 2018 (reference code ``jthsieh/DDPAE-video-prediction`` @ 219e683,
PyTorch 0.3 + Pyro 0.2), re-implemented from the paper.

Model: a video is K components, each a static content c_k (128-d) drawn once per clip and a pose p_{k,t} =
(s, x, y) = p_{k,0} + sum of pose steps beta_{k,1..t}. Generative model: c ~ N(0, I), p_0 ~ N([S, 0, 0],
diag[0.2, 1, 1]^2), beta ~ N(0, 0.1^2) per frame, x_t ~ N(render_t, 0.3^2) for every frame of the clip (seen and
predicted). Inference (only the seen frames are read): ``PoseNet`` (frame CNN + coupled encode/predict LSTMs +
initial-pose LSTM) gives q(p_0) and q(beta) for every step (future steps from the predict LSTM); each component's
object canvas (half the frame side) is cropped from the seen frames at its inferred poses by the inverse spatial
transformer and ``ContentNet`` (CNN + LSTM) gives q(c_k). The object decoder (DCGAN, Sigmoid) turns c_k into the
canvas, which the spatial transformer pastes at p_{k,t}; components are summed and clamped at 1.
The loss is the negative ELBO (Gaussian likelihood + analytic KLs, reparameterised samples) per pixel.
Prediction is deterministic: the means of q(c), q(p_0) and q(beta) are used.

Background (``background``): ``none`` is the original (sprites on black; the default for 1-channel data, e.g.
M3SO: K = 2 components for the digit and the block); ``learned`` adds a background component (a content latent
inferred from the mean seen frame, decoded full-frame) and the objects get an alpha channel and are composited over
it (the default for RGB natural video); ``context`` uses the last seen frame as a fixed background.

Deviations from the original:
- No Pyro: an explicit reparameterised ELBO with analytic Gaussian KLs (same priors and likelihood, equal in
  expectation); the loss is -ELBO / numel as the original logged it.
- Frame CNN, object encoder and decoder are the ``_conv`` DCGAN stacks sized by the data (ngf 8; at 48x48:
  3 downsamplings + a 6x6 kernel, object canvas 24x24), with LeakyReLU and biases; the original was 64x64 only.
- ``align_corners=False`` in the spatial transformer (PyTorch 0.3 behaved as True): poses differ by < 1 px.
- The optional background component and alpha compositing (not in the original) for natural video.
- Pose steps exist for frames 1..T-1 (the initial pose covers frame 0).
- Adam (0.5, 0.999) at 1e-3 with a x0.1 drop halfway through the run, as the original did per epoch; "the run" is
  its budget: the share the trainer reports through ``set_progress`` (steps, CPU or wall time, whichever binds),
  else ``setup_training``'s step count.
- ``Config.quick()`` (quick and board presets) ends the object decoder in a clamp to [0, 1] with a straight-through
  gradient (``output="clamp"``, ``_conv.UnitClamp``) instead of the original's Sigmoid, which the paper config
  keeps. Sprites are pasted onto an exactly black frame, but a Sigmoid canvas is black only in the limit of an
  infinitely negative pre-activation and its gradient there, y (1 - y), vanishes with y: under the Gaussian
  likelihood the background of the canvas approaches 0 only polynomially, a haze inside each sprite's box.
- ``Config.quick()`` and ``tiny()`` also fix every pose's scale at S (``learn_scale=False``; the paper config keeps
  the original's inferred scale, clamped to [S - 1, S + 1]). On M3SO's 48 x 48 frames the inferred scale settles
  below the clamp's lower bound, where the clamp passes no gradient: every sprite is then a 24 x 24 canvas stretched
  over the whole frame and the model stops learning (docs/training-dynamics.md has the measurements). The scale
  latents are still inferred and priced by the KL; they are not used.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from s2sbench.data.loader import Batch
from s2sbench.errors import ConfigError
from s2sbench.models import DataSpec, VideoPredictor

from ._common import eval_mode, frame_side, repeat_samples
from ._conv import FrameDecoder, FrameEncoder, init_weights
from ._ddpae_parts import ContentNet, PoseNet, constrain_pose, crop, gaussian_nll, kl_normal, paste

BACKGROUNDS = ("auto", "none", "learned", "context")
POSE0_STD = (0.2, 1.0, 1.0)


@dataclass
class DDPAEConfig:
    n_components: int = 2
    background: str = "auto"  # auto (none for 1 channel, learned otherwise), none, learned, context
    image_latent: int = 256
    content_dim: int = 128
    hidden: int = 64
    ngf: int = 8
    bg_dim: int = 128
    scale_prior: float = 2.0  # S: the object canvas covers 1/S of the frame side
    learn_scale: bool = True  # the pose's scale is inferred, clamped to [S-1, S+1] (original); False: fixed at S
    beta_std: float = 0.1  # prior std of the pose steps
    likelihood_std: float = 0.3
    independent_components: bool = False
    lr: float = 1e-3
    adam_beta1: float = 0.5
    lr_drop_at: float = 0.5  # fraction of the run (its budget, see set_progress) after which lr is x0.1
    output: str = "sigmoid"  # the object decoder's last layer: "sigmoid" (original) or "clamp" (_conv.UnitClamp)

    @classmethod
    def tiny(cls) -> "DDPAEConfig":
        return cls(image_latent=16, content_dim=8, hidden=8, ngf=4, bg_dim=8, output="clamp", learn_scale=False)

    @classmethod
    def quick(cls) -> "DDPAEConfig":
        """CPU budget runs (``--preset quick`` / ``board``): the paper size with the clamped canvas output (a
        Sigmoid canvas leaves a haze on the black background that a budget run never removes) and the sprite
        scale fixed at S (an inferred one settles on the clamp's lower bound, a full-frame window, and the model
        stops learning)."""
        return cls(output="clamp", learn_scale=False)


class DDPAE(VideoPredictor):
    name = "ddpae"
    uses_audio = False
    stochastic = False
    Config = DDPAEConfig

    def __init__(self, spec: DataSpec, config: DDPAEConfig | None = None) -> None:
        super().__init__(spec, config)
        c, side, C = self.config, frame_side(spec), spec.channels
        if c.background not in BACKGROUNDS:
            raise ConfigError(f"background must be one of {BACKGROUNDS}, got {c.background!r}")
        self.background = c.background if c.background != "auto" else ("none" if C == 1 else "learned")
        self.obj_side = side // 2
        alpha = 0 if self.background == "none" else 1
        self.pose_net = PoseNet(C, side, c.n_components, c.image_latent, c.hidden, c.ngf, c.independent_components)
        self.content_net = ContentNet(C, self.obj_side, c.content_dim, c.hidden, c.ngf)
        self.object_decoder = FrameDecoder(C + alpha, self.obj_side, c.content_dim, c.ngf, skips=False,
                                           output=c.output)
        if self.background == "learned":
            self.bg_encoder = FrameEncoder(C, side, c.bg_dim, c.ngf)
            self.bg_head = nn.Linear(c.bg_dim, 2 * c.bg_dim)
            self.bg_decoder = FrameDecoder(C, side, c.bg_dim, 2 * c.ngf, skips=False)
        self.apply(init_weights)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"model": torch.optim.Adam(self.parameters(), lr=self.config.lr, betas=(self.config.adam_beta1, 0.999))}

    def lr_at(self, step: int) -> float:
        """Learning rate of ``step``: ``lr``, x0.1 once ``lr_drop_at`` of the run is used."""
        c = self.config
        done = self.run_fraction(step) or 0.0  # the share of the run done (its budget, or its steps)
        return c.lr * (0.1 if done >= c.lr_drop_at else 1.0)

    def _reparam(self, mu: torch.Tensor, std: torch.Tensor, sample: bool) -> torch.Tensor:
        return mu + std * torch.randn_like(std) if sample else mu

    def infer(self, seen: torch.Tensor, n_future: int, sample: bool) -> tuple[torch.Tensor, ...]:
        """Seen frames (B, P, C, H, W) -> poses (B, K, P+n_future, 3), contents (B, K, D), background
        (B, C, H, W) or None, and the summed KL of the sampled latents to their priors."""
        c, (B, P, C, H, W) = self.config, seen.shape
        K = c.n_components
        p0_mu, p0_std, b_mu, b_std = self.pose_net(seen, n_future)  # (B, K, 3) x2, (B, K, T-1, 3) x2
        p0 = self._reparam(p0_mu, p0_std, sample)  # (B, K, 3)
        beta = self._reparam(b_mu, b_std, sample)  # (B, K, T-1, 3)
        raw = torch.cat([p0[:, :, None], p0[:, :, None] + beta.cumsum(2)], 2)  # (B, K, T, 3)
        poses = constrain_pose(raw, c.scale_prior, c.learn_scale)  # (B, K, T, 3)
        seen_k = seen[:, None].expand(-1, K, -1, -1, -1, -1).flatten(0, 2)  # (B*K*P, C, H, W)
        patches = crop(seen_k, poses[:, :, :P].flatten(0, 2), (self.obj_side, self.obj_side))  # (B*K*P, C, o, o)
        c_mu, c_std = self.content_net(patches.view(B * K, P, C, self.obj_side, self.obj_side))  # (B*K, D) x2
        content = self._reparam(c_mu, c_std, sample).view(B, K, -1)  # (B, K, D)
        prior0 = torch.tensor([c.scale_prior, 0.0, 0.0], device=seen.device)
        kl = (kl_normal(c_mu, c_std, 0.0, 1.0).sum() + kl_normal(b_mu, b_std, 0.0, c.beta_std).sum()
              + kl_normal(p0_mu, p0_std, prior0, torch.tensor(POSE0_STD, device=seen.device)).sum())
        bg = None
        if self.background == "learned":
            g_mu, g_std = self.bg_head(self.bg_encoder(seen.mean(1))[0]).chunk(2, 1)  # (B, bg) x2
            g_std = nn.functional.softplus(g_std) + 1e-4
            bg = self.bg_decoder(self._reparam(g_mu, g_std, sample))  # (B, C, H, W)
            kl = kl + kl_normal(g_mu, g_std, 0.0, 1.0).sum()
        elif self.background == "context":
            bg = seen[:, -1]  # (B, C, H, W)
        return poses, content, bg, kl

    def render(self, poses: torch.Tensor, content: torch.Tensor, bg: torch.Tensor | None) -> torch.Tensor:
        """Poses (B, K, T, 3), contents (B, K, D), background (B, C, H, W) or None -> frames (B, T, C, H, W)."""
        B, K, T = poses.shape[:3]
        C, H, W = self.spec.channels, self.spec.height, self.spec.width
        canvas = self.object_decoder(content.flatten(0, 1))  # (B*K, C[+1], o, o)
        canvas = canvas[:, None].expand(-1, T, -1, -1, -1).flatten(0, 1)  # (B*K*T, C[+1], o, o)
        placed = paste(canvas, poses.flatten(0, 2), (H, W)).view(B, K, T, -1, H, W)  # (B, K, T, C[+1], H, W)
        if bg is None:
            return placed.sum(1).clamp(max=1.0)  # (B, T, C, H, W)
        out = bg[:, None].expand(-1, T, -1, -1, -1)  # (B, T, C, H, W)
        for k in range(K):
            alpha = placed[:, k, :, C:]  # (B, T, 1, H, W)
            out = alpha * placed[:, k, :, :C] + (1 - alpha) * out
        return out  # (B, T, C, H, W)

    def training_step(self, batch: Batch, opt: dict[str, torch.optim.Optimizer], step: int) -> dict[str, float]:
        x = batch.video  # (B, T, C, H, W)
        P, T = self.spec.n_past, x.shape[1]
        o = opt["model"]
        for g in o.param_groups:
            g["lr"] = self.lr_at(step)
        poses, content, bg, kl = self.infer(x[:, :P], T - P, sample=True)
        x_hat = self.render(poses, content, bg)  # (B, T, C, H, W)
        nll = gaussian_nll(x, x_hat, self.config.likelihood_std)
        loss = (nll + kl) / x.numel()  # negative ELBO per pixel
        o.zero_grad(set_to_none=True)
        self.backward(loss)
        o.step()
        mse = torch.mean((x_hat.detach()[:, P:] - x[:, P:]) ** 2)
        return {"loss": loss.item(), "nll": nll.item() / x.numel(), "kl": kl.item() / x.numel(), "mse": mse.item()}

    def sample(self, context: torch.Tensor, audio: torch.Tensor, n_future: int, n_samples: int) -> torch.Tensor:
        P = context.shape[1]
        with eval_mode(self):
            poses, content, bg, _ = self.infer(context, n_future, sample=False)
            frames = self.render(poses[:, :, P:], content, bg)  # (B, n_future, C, H, W)
        return repeat_samples(frames, n_samples)  # (B, S, n_future, C, H, W)
