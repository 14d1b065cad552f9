"""Sound2Sight (Cherian, Chatterjee & Ahuja, "Sound2Sight: Generating Visual Dynamics from Sound and Context", ECCV
2020, arXiv 2007.12130), re-implemented from the paper (§3-§4) and notes on the original code (``S2S@217d663``).

Generator (paper Fig. 2-3; frames counted from 0 as in the tensors), built on the SVG-LP backbone (frame encoder f
and decoder g with skips, the predictor LSTM, Gaussian prior and posterior LSTMs; ``_conv`` and ``_sequence``):
    prediction network   eta_t = LSTM_L(f(X_{t-1}), z_t),  X^_t = g(eta_t, skips)
    stochastic network   M_{t-1} = TF_prior(f(X_0..X_{t-1})),  Q_t = TF_post(f(X_0..X_t)),  O_t = TF_audio(A_0..A_t)
                         prior p(z_t | M_{t-1}, O_t) = LSTM_phi,  posterior q(z_t | Q_t, O_t) = LSTM_psi
Multimodal discriminator (``_sound2sight_disc``): a per-frame head D_std and an LSTM D over windows of R previous and
k-1 next real frames with their audio (motion dynamics MD, audio alignment AA).
Training: teacher forcing; the generator minimises L_V - gamma L_adv (L_V = MSE + beta KL(q || p), Eq. 2) and the
discriminator L_adv (Eq. 3), both from one backward pass (gradient reversal on the generated frames), one Adam each;
gamma x10 every 300/1001 of the run after a warm start of 1/1001 without the adversarial term (the paper's 1001
epochs). Inference: autoregressive, z from the prior, the whole audio given, several samples per clip.

Computation: training runs the whole teacher-forced clip at once (all frames and audio patches encoded in one call,
each stream and LSTM over the sequence in one call, the transformers under a causal mask: equal to the original's
re-encoding of every prefix); generation encodes the context and the audio once per clip and continues the streams
from their cached state. ``Config.fast`` selects the CPU fast path of the conv blocks (``_conv``), equal to the plain
modules up to float rounding.

Kept from the original: the target frame's audio A_t is part of the prior's input; skips come from the input frame
in the context and from the last seen frame afterwards; dropout 0.2 on the positions and 0.1 inside the transformer
layers; DCGAN init; MSE reconstruction; beta 1e-4 constant.

Deviations from the original:
- in training z_t is drawn from the posterior and decoded (the paper's §3, SVG-LP's choice); the original draws it
  from the prior, so z carries nothing about the future and the model learns the mean future; ``z_from="prior"``
  restores the original;
- ``Config.quick()`` ends the decoder in a straight-through clamp to [0, 1] (``output="clamp"``) instead of the
  Sigmoid, which the paper config keeps: under MSE a Sigmoid reaches M3SO's black background too slowly (``_conv``);
- the loss covers the predicted frames only, as Eq. 2 (``loss_on_context=True``: also the context steps, as the
  original); losses are averaged over steps and pixels instead of summed (the same optimum; for Adam the same updates
  with eps scaled by the number of terms), so the logged ``loss`` (L_V) is on the per-pixel MSE scale of the other
  models, and gamma is converted to it (next item);
- gamma weighs L_adv against Eq. 2's squared error of a whole frame (``gamma_per="frame"``: gamma / (C H W) beside
  the per-pixel MSE), not against the per-pixel MSE as the original (``gamma_per="pixel"``), under which a trained
  discriminator's gradient outgrows the vanishing one of L_V and stalls the generator (docs/training-dynamics.md);
- the generator's adversarial term is the paper's minimax -gamma L_adv (the original uses non-saturating labels);
- the posterior transformer reads every frame up to X_t from the first one on (the paper; the original skips the
  first frame), and the audio transformer reads from the first frame's audio on;
- gamma follows the paper (x10 every 300 of 1001 epochs: 1e-4, 1e-3, 1e-2, 1e-1), not the code (1e-4, 5e-4, 1e-3,
  1e-2: ``gamma_schedule="code"``), and the schedule is scaled to the run's length (the share of its budget used,
  ``set_progress``);
- BatchNorm statistics are over all frames of the batch (one encoder call) instead of one time step;
- the discriminator's encoders learn (``disc_train_encoders=False`` reproduces the frozen original); its other
  deviations are listed in ``_sound2sight_disc``;
- discriminator Adam lr 2e-3 as the paper (the code: 2.5e-3); one Adam per player instead of 13.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from s2sbench.data.loader import Batch
from s2sbench.errors import ConfigError
from s2sbench.models import DataSpec, VideoPredictor

from ._common import eval_mode
from ._conv import AudioEncoder, FrameDecoder, FrameEncoder, init_weights
from ._sequence import CausalTransformer, GaussianLSTM, LSTMStream, PredictorLSTM, kl_gaussians, reparameterise
from ._sound2sight_disc import MultimodalDiscriminator, reverse_gradient


@dataclass
class Config:
    """Sound2Sight hyper-parameters; the defaults are the paper's (§4 Implementation Details)."""

    # prediction network
    g_dim: int = 128  # frame and audio embedding size
    z_dim: int = 10
    rnn_size: int = 256  # hidden size of the predictor, prior and posterior LSTMs
    predictor_layers: int = 2
    prior_layers: int = 1  # prior and posterior LSTM layers
    base: int = 64  # channels of the first frame-encoder layer (doubling per layer, as DCGAN)
    output: str = "sigmoid"  # the decoder's last layer: "sigmoid" (original) or "clamp" (_conv.UnitClamp)
    # multimodal stochastic network
    use_audio: bool = True
    audio_base: int = 64  # channels of the first audio-encoder layer (generator and discriminator)
    temporal: str = "transformer"  # "transformer" or "lstm" (Fig. 5a ablation)
    d_model: int = 256
    heads: int = 4
    dim_ff: int = 128
    tf_layers: int = 1
    tf_dropout: float = 0.1
    pe_dropout: float = 0.2
    lstm_stream_hidden: int = 128  # the LSTM ablation's hidden size (paper: 128)
    z_from: str = "posterior"  # z decoded in training: "posterior" (paper, SVG-LP) or "prior" (original code)
    # multimodal discriminator
    adversarial: bool = True  # train the discriminator and add the gamma term
    md: bool = True  # motion-dynamics (temporal) head
    aa: bool = True  # audio-alignment negatives
    disc_hidden: int = 256
    disc_history: int = 2  # R
    disc_lookahead: int = 1  # k
    disc_train_encoders: bool = True  # False reproduces the original's frozen discriminator encoders
    # training
    lr: float = 2e-3
    disc_lr: float = 2e-3
    beta: float = 1e-4  # KL weight
    gamma: float = 1e-4  # adversarial weight at the start of the adversarial phase
    gamma_schedule: str = "paper"  # "paper": x gamma_factor every gamma_every; "code": x1, x5, x10, x100 (original)
    gamma_per: str = "frame"  # gamma weighs L_adv against the reconstruction error of a "frame" (Eq. 2's squared
    # error summed over its pixels: L_adv x gamma / (C H W) beside the per-pixel MSE) or of a "pixel" (the original)
    gamma_factor: float = 10.0
    gamma_every: float = 300 / 1001  # fraction of the run between gamma increases (0: constant)
    adv_warmup: float = 1 / 1001  # fraction of the run without the adversarial term (the original's epoch 0)
    loss_on_context: bool = False  # True: also score the teacher-forced context steps (original); False: Eq. 2
    # computation
    fast: bool = True  # the CPU fast path (_conv, channels_last); False: plain nn modules, equal up to rounding

    @classmethod
    def tiny(cls) -> "Config":
        """``--preset smoke`` and tests: every part narrow (about 0.2 M parameters) and the clamped output."""
        return cls(g_dim=16, z_dim=4, rnn_size=32, base=8, audio_base=8, d_model=32, heads=2, dim_ff=16,
                   disc_hidden=16, lstm_stream_hidden=16, output="clamp")

    @classmethod
    def quick(cls) -> "Config":
        """``--preset quick`` (10 CPU minutes): the paper's architecture at half width (conv channels 32-64-128,
        embeddings 64, LSTMs 128, d_model 128) and the clamped output layer; every other choice (losses, schedule,
        discriminator) as the paper."""
        return cls(g_dim=64, rnn_size=128, base=32, d_model=128, dim_ff=64, disc_hidden=128, output="clamp")


GAMMA_SCHEDULES = ("paper", "code")
CODE_GAMMA_STEPS = (1, 5, 10, 100)  # the original code's multipliers of gamma (1e-4 .. 1e-2)


class Sound2Sight(VideoPredictor):
    name = "sound2sight"
    uses_audio = True
    stochastic = True
    Config = Config
    cpu_bf16 = True  # bf16 autocast on CPUs with native bf16 (train.precision=auto): measured faster, still learns

    def __init__(self, spec: DataSpec, config: Config | None = None) -> None:
        super().__init__(spec, config)
        c = self.config
        if spec.height != spec.width:
            raise ConfigError(f"{self.name} needs square frames (got {spec.height}x{spec.width})")
        if c.use_audio and spec.audio_patch is None:
            raise ConfigError(f"{self.name} needs a 2-D audio feature (stft or mel), got {spec.audio_feature!r}")
        if c.z_from not in ("prior", "posterior") or c.temporal not in ("transformer", "lstm"):
            raise ConfigError(f"unknown z_from {c.z_from!r} or temporal {c.temporal!r}")
        if c.gamma_schedule not in GAMMA_SCHEDULES or c.gamma_per not in ("pixel", "frame"):
            raise ConfigError(f"unknown gamma_schedule {c.gamma_schedule!r} (known: {', '.join(GAMMA_SCHEDULES)}) or "
                              f"gamma_per {c.gamma_per!r} (pixel, frame)")
        C, S, g, fast = spec.channels, spec.height, c.g_dim, c.fast
        # prediction network f, g (LSTM_L below); multimodal stochastic network; multimodal discriminator
        self.encoder = FrameEncoder(C, S, g, c.base, fast)  # f
        self.decoder = FrameDecoder(C, S, g, c.base, output=c.output, fast=fast)  # g
        self.audio_encoder = AudioEncoder(spec.audio_patch, g, c.audio_base, fast) if c.use_audio else None
        self.audio_stream = self._stream() if c.use_audio else None  # O
        self.prior_stream, self.posterior_stream = self._stream(), self._stream()  # M, Q
        cond = g * (2 if c.use_audio else 1)  # cat(video stream, audio stream)
        self.prior = GaussianLSTM(cond, c.z_dim, c.rnn_size, c.prior_layers)  # LSTM_phi
        self.posterior = GaussianLSTM(cond, c.z_dim, c.rnn_size, c.prior_layers)  # LSTM_psi
        self.predictor = PredictorLSTM(g + c.z_dim, g, c.rnn_size, c.predictor_layers)  # LSTM_L
        self.disc = MultimodalDiscriminator(
            C, S, spec.audio_patch if c.use_audio else None, g_dim=g, base=c.base, audio_base=c.audio_base,
            hidden=c.disc_hidden, history=c.disc_history, lookahead=c.disc_lookahead, md=c.md,
            aa=c.aa and c.use_audio, train_encoders=c.disc_train_encoders, fast=fast) if c.adversarial else None
        for m in (self.encoder, self.decoder, self.audio_encoder, self.prior, self.posterior, self.predictor,
                  self.disc):
            if m is not None:
                m.apply(init_weights)  # the streams keep PyTorch's init, as the original's transformers
        if fast:
            self.to(memory_format=torch.channels_last)

    def _stream(self) -> nn.Module:
        c = self.config
        if c.temporal == "lstm":
            return LSTMStream(c.g_dim, c.g_dim, c.lstm_stream_hidden)
        return CausalTransformer(c.g_dim, c.g_dim, c.d_model, c.heads, c.dim_ff, c.tf_layers, c.tf_dropout,
                                 c.pe_dropout)

    def _frames(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.config.fast else x

    def _audio(self, audio: torch.Tensor) -> torch.Tensor | None:
        """The audio stream O_0..O_{T-1} (B, T, g) of the per-frame audio features (B, T, F); None without audio."""
        if self.audio_encoder is None:
            return None
        B, T = audio.shape[:2]
        return self.audio_stream(self.audio_encoder(audio.flatten(0, 1)).view(B, T, -1))[0]  # (B, T, g)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> dict[str, torch.Tensor]:
        """The teacher-forced pass over whole clips (B, T, C, H, W) with their audio (B, T, F): the predictions of
        the scored frames X_start..X_{T-1} as ``pred`` (B, T-start, C, H, W), where start is n_past (Eq. 2) or 1
        (``loss_on_context``), and the prior and posterior parameters of the same steps, (B, T-start, z_dim) each."""
        B, T, C, H, W = video.shape
        p = self.spec.n_past
        start = 1 if self.config.loss_on_context else p
        h, skips = self.encoder(self._frames(video.flatten(0, 1)))  # f(X_t): (B*T, g), [(B*T, w, s, s)]
        h = h.view(B, T, -1)  # (B, T, g)
        m = self.prior_stream(h[:, :-1])[0]  # (B, T-1, g): M_{t-1} from X_0..X_{t-1}, for t = 1..T-1
        q = self.posterior_stream(h)[0][:, 1:]  # (B, T-1, g): Q_t from X_0..X_t
        o = self._audio(audio)  # (B, T, g): O_t from A_0..A_t
        if o is not None:
            m, q = torch.cat([m, o[:, 1:]], -1), torch.cat([q, o[:, 1:]], -1)  # (B, T-1, 2g)
        mu_p, lv_p, _ = self.prior(m)  # (B, T-1, z)
        mu_q, lv_q, _ = self.posterior(q)  # (B, T-1, z)
        z = reparameterise(mu_p, lv_p) if self.config.z_from == "prior" else reparameterise(mu_q, lv_q)
        eta, _ = self.predictor(torch.cat([h[:, :-1], z], -1))  # (B, T-1, g): eta_t from f(X_{t-1}) and z_t
        # Decode the scored steps t = start..T-1 with the skips of X_{t-1} while it is a seen frame, and with those
        # of the last seen frame X_{p-1} for every later step: one step per source frame, then T-p steps.
        sources = [s.view(B, T, *s.shape[1:])[:, start - 1 : p].flatten(0, 1) for s in skips]  # X_{start-1}..X_{p-1}
        uses = torch.tensor([1] * (p - start) + [T - p], device=video.device).repeat(B)  # (B * (p-start+1),)
        pred = self.decoder(eta[:, start - 1 :].flatten(0, 1), sources, uses).view(B, T - start, C, H, W)
        j = slice(start - 1, None)
        return {"pred": pred, "mu_p": mu_p[:, j], "lv_p": lv_p[:, j], "mu_q": mu_q[:, j], "lv_q": lv_q[:, j]}

    # ---- training -------------------------------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        opt = {"gen": torch.optim.Adam(self.generator_parameters(), lr=c.lr, betas=(0.9, 0.999), fused=True)}
        if self.disc is not None:
            params = [q for q in self.disc.parameters() if q.requires_grad]
            opt["disc"] = torch.optim.Adam(params, lr=c.disc_lr, betas=(0.9, 0.999), fused=True)
        return opt

    def generator_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if not n.startswith("disc.")]

    def gamma_at(self, step: int) -> float:
        """Adversarial weight at ``step``: 0 in the warm start, then gamma x the schedule's k-th multiplier after k
        intervals of ``gamma_every`` ("paper": gamma_factor^k; "code": 1, 5, 10, 100, then 100)."""
        c = self.config
        if self.disc is None:
            return 0.0
        frac = self.run_fraction(step)  # the share of the run done (its budget, or its steps)
        if frac is None:
            return c.gamma
        if frac < c.adv_warmup:
            return 0.0
        k = int(frac / c.gamma_every) if c.gamma_every > 0 else 0
        if c.gamma_schedule == "code":
            return c.gamma * CODE_GAMMA_STEPS[min(k, len(CODE_GAMMA_STEPS) - 1)]
        return c.gamma * c.gamma_factor ** k

    def adversarial_weight(self, step: int) -> float:
        """The weight of L_adv in the generator's objective in the units of L_V (per-pixel MSE): gamma_at(step), per
        pixel of a frame when ``gamma_per="frame"`` (gamma weighs L_adv against Eq. 2's per-frame squared error)."""
        gamma = self.gamma_at(step)
        if self.config.gamma_per == "frame":
            gamma /= self.spec.channels * self.spec.height * self.spec.width
        return gamma

    def training_step(self, batch: Batch, opt: dict[str, torch.optim.Optimizer], step: int) -> dict[str, float]:
        video, audio = batch.video, batch.audio  # (B, T, C, H, W), (B, T, F)
        out = self(video, audio)
        pred = out["pred"]  # (B, J', C, H, W): frames T-J' .. T-1
        mse = ((pred - video[:, -pred.shape[1] :]) ** 2).mean()
        kl = kl_gaussians(out["mu_q"], out["lv_q"], out["mu_p"], out["lv_p"])
        loss = mse + self.config.beta * kl  # L_V (Eq. 2), averaged over steps
        gamma = self.gamma_at(step)
        weight = self.adversarial_weight(step)
        logs = {"loss": loss.item(), "mse": mse.item(), "kl": kl.item(), "gamma": gamma}
        total = loss
        if self.disc is not None:
            judged = self.disc.judged(video.shape[1], self.spec.n_past)
            first = video.shape[1] - pred.shape[1]
            fake = pred[:, judged.start - first : judged.stop - first]  # (B, J, C, H, W)
            fake = reverse_gradient(fake, weight) if weight > 0 else fake.detach()
            d_loss, d_logs = self.disc.losses(video, audio, fake, self.spec.n_past)  # L_adv (Eq. 3)
            total = total + d_loss  # D gets dL_adv; G gets dL_V - weight dL_adv (gradient reversal on the fakes)
            logs.update(d_loss=d_loss.item(), **d_logs)
        for o in opt.values():
            o.zero_grad(set_to_none=True)
        self.backward(total)
        for o in opt.values():
            o.step()
        return logs

    # ---- inference ------------------------------------------------------------------------------------------
    def sample(self, context: torch.Tensor, audio: torch.Tensor, n_future: int, n_samples: int) -> torch.Tensor:
        with eval_mode(self):
            return self._sample(context, audio, n_future, n_samples)

    def _sample(self, context: torch.Tensor, audio: torch.Tensor, n_future: int, S: int) -> torch.Tensor:
        B, p, C, H, W = context.shape
        if audio.shape[1] < p + n_future:
            raise ConfigError(f"audio covers {audio.shape[1]} frames, need {p + n_future} (seen + predicted)")
        # Once per clip: the context's embeddings and skips, the audio stream, the prior over the context steps.
        h, skips = self.encoder(self._frames(context.flatten(0, 1)))  # (B*p, g), [(B*p, w, s, s)]
        h = h.view(B, p, -1)  # (B, p, g)
        last_skips = [s.view(B, p, *s.shape[1:])[:, -1] for s in skips]  # the last seen frame's: every step's
        o = self._audio(audio[:, : p + n_future])  # (B, T, g) or None
        m, cache = self.prior_stream(h)  # (B, p, g): M_0..M_{p-1}, and the stream's state
        cond = m[:, :-1] if o is None else torch.cat([m[:, :-1], o[:, 1:p]], -1)  # (B, p-1, cond)
        mu, lv, prior_state = self.prior(cond)  # context steps 1..p-1
        # S samples per clip from here on: rows b*S .. b*S+S-1 belong to clip b.
        z = reparameterise(mu.repeat_interleave(S, 0), lv.repeat_interleave(S, 0))  # (B*S, p-1, z)
        _, pred_state = self.predictor(torch.cat([h[:, :-1].repeat_interleave(S, 0), z], -1))
        prior_state, cache = self.prior.repeat(prior_state, S), self.prior_stream.repeat(cache, S)
        o = None if o is None else o.repeat_interleave(S, 0)  # (B*S, T, g)
        h_prev, m_prev = h[:, -1:].repeat_interleave(S, 0), m[:, -1:].repeat_interleave(S, 0)  # (B*S, 1, g)
        frames = []
        for t in range(p, p + n_future):
            cond = m_prev if o is None else torch.cat([m_prev, o[:, t : t + 1]], -1)  # (B*S, 1, cond)
            mu, lv, prior_state = self.prior(cond, prior_state)  # (B*S, 1, z)
            eta, pred_state = self.predictor(torch.cat([h_prev, reparameterise(mu, lv)], -1), pred_state)
            x = self.decoder(eta[:, 0], last_skips, uses=S)  # (B*S, C, H, W)
            frames.append(x)
            if t < p + n_future - 1:
                h_prev = self.encoder(x)[0][:, None]  # (B*S, 1, g)
                m_prev, cache = self.prior_stream(h_prev, cache)  # (B*S, 1, g)
        return torch.stack(frames, 1).view(B, S, n_future, C, H, W).contiguous()  # (B, S, n_future, C, H, W)

    @torch.no_grad()
    def fooling_rate(self, batch: Batch, n_samples: int = 1) -> float:
        """Share of generated clips the trained discriminator calls real (paper §4.1 reports 79.26 % on Drums and
        65.99 % on Painting). Each clip's context is continued ``n_samples`` times (z from the prior, the clip's own
        audio); the generated clip (real context + generated future) is judged at every predicted frame with a full
        window taken from the generated clip itself; a clip counts as real when its mean P(real) (mean of the D_std
        and temporal heads) exceeds 0.5. Returns a share in [0, 1] of B x n_samples."""
        if self.disc is None:
            raise ConfigError(f"{self.name} has no discriminator")
        p = self.spec.n_past
        video, audio = batch.video, batch.audio
        B, T = video.shape[:2]
        gen = self.sample(video[:, :p], audio, T - p, n_samples)  # (B, S, T-p, C, H, W)
        ctx = video[:, None, :p].expand(-1, n_samples, -1, -1, -1, -1)
        clips = torch.cat([ctx, gen], 2).flatten(0, 1)  # (B*S, T, C, H, W)
        with eval_mode(self):
            prob = self.disc.real_probability(clips, audio.repeat_interleave(n_samples, 0), p)  # (B*S, J)
        return (prob.mean(1) > 0.5).float().mean().item()
