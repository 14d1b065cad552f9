"""Sound2Sight (Chatterjee & Cherian, "Sound2Sight: Generating Visual Dynamics from Sound and Context", ECCV 2020,
arXiv 2007.12130), re-implemented from the paper (§3-§4) and the notes on the original code; nothing is copied.

Prediction network: frame encoder f (DCGAN with skips, ``_blocks.FrameEncoder``), a 2-layer LSTM over
cat(f(X_{t-1}), z_t), decoder g with the skips of the last seen frame. Multimodal stochastic network: three causal
transformers (audio over per-frame STFT embeddings, prior video over f(X_1..X_{t-1}), posterior video over
f(X_1..X_t)); Gaussian prior and posterior LSTMs on cat(video, audio) embeddings; KL(posterior || prior).
Multimodal discriminator: ``sound2sight_disc.MultimodalDiscriminator`` (D_std + temporal head, MD and AA terms).
Training: teacher forcing; the generator minimises L_V - gamma L_adv (L_V = MSE + beta KL, Eq. 2) and the
discriminator L_adv (Eq. 3), both from ONE backward pass (gradient reversal on the generated frames), one Adam each;
gamma x10 every 300/1001 of the run after a warm start of 1/1001 without the adversarial term (the paper's 1001
epochs; all configurable). Inference: autoregressive, z from the prior, the full audio given, 100 samples per clip.

Speed (benchmarks/bench_sound2sight.py): the whole teacher-forced sequence is computed at once: every frame and
audio patch is encoded in one batched call, each transformer runs once over the sequence with a causal mask (equal
to the original's re-encoding of every prefix), the prior, posterior and predictor LSTMs run as one ``nn.LSTM`` call
each, the decoder runs once over all scored steps with the skip half of its layers computed once per clip
(``_skipdec``), and the discriminator embeds every real frame, generated frame and audio patch once. The
convolutions oneDNN is slow at run as matrix products on the CPU (``_fastconv``: same function and parameters;
cuDNN's on CUDA), gradients keep the channels_last layout of the activations, and both Adams are fused. Generation
encodes the context and the audio once per clip, caches the transformer's keys/values and only then expands the
batch to B x S samples.

Kept from the original (``S2S@217d663``): the target frame's audio A_t is part of the prior's input;
skips come from the current input frame in the context and from the last seen frame afterwards; dropout 0.2 on the
positions and 0.1 inside the transformer layers; DCGAN init; MSE reconstruction; beta 1e-4 constant.

Deviations from the original:
- in training z_t is drawn from the *posterior* and decoded (the paper's §3: the posterior "may attempt to directly
  encode this frame to be decoded by the prediction network", which the KL to the prior prevents; SVG-LP's choice).
  The original code draws it from the prior (its "sample_prior" script), so the posterior only enters the KL and z
  carries nothing about the future: the model then learns the mean future, a blur. Measured on M3SO-NB at the quick
  size (10 CPU min): ``ssim_paper`` best of 100 at frame 25 0.551 with the posterior against 0.485 with the prior
  (180 updates, an earlier session); ``z_from="prior"`` restores the original;
- ``Config.quick()`` (the quick and board presets) ends the decoder in a clamp to [0, 1] with a straight-through
  gradient (``output="clamp"``, ``_blocks.UnitClamp``) instead of the original's Sigmoid, which the paper config
  keeps. Under MSE a Sigmoid approaches the exactly black background of M3SO only polynomially, and the paper's SSIM
  punishes a background of 0.01 by about 0.15 (a black frame scores 0.76 at M3SO-NB frame 25, the same frame plus
  0.01 scores 0.61). Measured on M3SO-NB, quick preset (10 CPU min, about 220 updates of 16), best of 100 at frame 25
  on 100 test clips: 0.705 with the clamp against 0.551 with the Sigmoid (``copy_last``: 0.643);
- the loss covers the predicted frames t = F+1..T only, as the paper's Eq. 2 (the original also scores the
  teacher-forced context steps: ``loss_on_context=True``);
- losses are averaged over steps and pixels instead of summed (the same optimum; for Adam the same updates with eps
  scaled by the number of terms); the logged ``loss`` (L_V) is therefore on the per-pixel MSE scale of the other
  models, and gamma is converted to it (next item);
- gamma weighs L_adv against Eq. 2's reconstruction error summed over a frame's pixels (``gamma_per="frame"``: the
  generator's adversarial weight is gamma / (C H W) beside the per-pixel MSE); the original weighs it against its
  per-pixel MSE (``gamma_per="pixel"``). Near a good reconstruction the gradient of L_V vanishes while that of L_adv
  does not (a trained discriminator still separates the frames), so a per-pixel gamma of 1e-3 or more lets the
  adversarial term dominate the generator's update and undo the reconstruction; the original is spared only because
  its discriminator is weak (frozen random encoders, logits capped at +-1 by a Tanh);
- the generator's adversarial term is the paper's minimax -gamma L_adv (the original uses non-saturating labels);
- the posterior transformer reads X_1..X_t (paper) instead of the original's X_2..X_t, and the audio transformer
  reads A_1..A_t from the first frame on;
- gamma follows the paper (x10 every 300 of 1001 epochs: 1e-4, 1e-3, 1e-2, 1e-1), not the code (1e-4, 5e-4, 1e-3,
  1e-2: ``gamma_schedule="code"``), and the schedule is scaled to the run's length (its budget, see
  ``set_progress``);
- BatchNorm statistics are over all frames of the batch (one encoder call) instead of one time step;
- the discriminator's encoders learn (``disc_train_encoders=False`` reproduces the frozen original), and the
  discriminator differs as listed in ``sound2sight_disc``;
- discriminator Adam lr 2e-3 as the paper (the code: 2.5e-3); one Adam per player instead of 13.
"""
from __future__ import annotations

import torch
from torch import nn

from s2sbench.data.loader import Batch
from s2sbench.models import DataSpec, VideoPredictor

from ._baseline_blocks import eval_mode
from ._blocks import AudioEncoder, FrameDecoder, FrameEncoder, init_weights, kl_gaussians
from ._fastconv import group_rows, use_fast_convs
from ._skipdec import decode_with_terms, skip_terms
from ._streams import CausalTransformer, LSTMStream, SeqGaussianLSTM, SeqLSTM, reparameterise, repeat_lstm_state
from .sound2sight_config import Config
from .sound2sight_disc import MultimodalDiscriminator, reverse_gradient


GAMMA_SCHEDULES = ("paper", "code")
CODE_GAMMA_STEPS = (1, 5, 10, 100)  # the original code's multipliers of gamma (1e-4 .. 1e-2)


class Sound2Sight(VideoPredictor):
    name = "sound2sight"
    uses_audio = True
    stochastic = True
    Config = Config

    def __init__(self, spec: DataSpec, config: Config | None = None) -> None:
        super().__init__(spec, config)
        c = self.config
        if spec.height != spec.width:
            raise ValueError(f"{self.name} needs square frames (got {spec.height}x{spec.width})")
        if c.use_audio and spec.audio_patch is None:
            raise ValueError(f"{self.name} needs a 2-D audio feature (stft or mel), got {spec.audio_feature!r}")
        if c.z_from not in ("prior", "posterior") or c.temporal not in ("transformer", "lstm"):
            raise ValueError(f"unknown z_from {c.z_from!r} or temporal {c.temporal!r}")
        if c.gamma_schedule not in GAMMA_SCHEDULES or c.gamma_per not in ("pixel", "frame"):
            raise ValueError(f"unknown gamma_schedule {c.gamma_schedule!r} (known: {', '.join(GAMMA_SCHEDULES)}) or "
                             f"gamma_per {c.gamma_per!r} (pixel, frame)")
        C, S, g = spec.channels, spec.height, c.g_dim
        self.enc = FrameEncoder(C, S, g, c.conv_base)
        self.dec = FrameDecoder(C, S, g, c.conv_base, output=c.output)
        self.audio_enc = AudioEncoder(spec.audio_patch, g, c.audio_base) if c.use_audio else None
        self.audio_stream = self._stream() if c.use_audio else None
        self.prior_stream, self.post_stream = self._stream(), self._stream()
        cond = g * (2 if c.use_audio else 1)
        self.prior = SeqGaussianLSTM(cond, c.z_dim, c.rnn_size, c.prior_layers)
        self.posterior = SeqGaussianLSTM(cond, c.z_dim, c.rnn_size, c.prior_layers)
        self.predictor = SeqLSTM(g + c.z_dim, g, c.rnn_size, c.predictor_layers)
        self.disc = MultimodalDiscriminator(
            C, S, spec.audio_patch if c.use_audio else None, g_dim=g, base=c.conv_base, audio_base=c.audio_base,
            hidden=c.disc_hidden,
            history=c.disc_history, lookahead=c.disc_lookahead, md=c.md, aa=c.aa and c.use_audio,
            train_encoders=c.disc_train_encoders) if c.adversarial else None
        for m in (self.enc, self.dec, self.audio_enc, self.prior, self.posterior, self.predictor, self.disc):
            if m is not None:
                m.apply(init_weights)
        if c.channels_last:
            self.to(memory_format=torch.channels_last)
        use_fast_convs(self)  # the same convolutions, the shapes oneDNN is slow at as matrix products
        self.total_steps: int | None = None
        self.progress: float | None = None  # fraction of the run's budget used, when the trainer reports it

    def _stream(self) -> nn.Module:
        c = self.config
        if c.temporal == "lstm":
            return LSTMStream(c.g_dim, c.g_dim, c.lstm_stream_hidden)
        return CausalTransformer(c.g_dim, c.g_dim, c.d_model, c.heads, c.dim_ff, c.tf_layers, c.tf_dropout,
                                 c.pe_dropout)

    def _frames(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.config.channels_last else x

    def _audio(self, audio: torch.Tensor) -> torch.Tensor | None:
        """Per-frame audio embeddings through the audio transformer: O_1..O_T (B, T, g)."""
        if self.audio_enc is None:
            return None
        B, T = audio.shape[:2]
        return self.audio_stream(self.audio_enc(audio.flatten(0, 1)).view(B, T, -1))  # (B, T, g)

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

    def setup_training(self, total_steps: int) -> None:
        self.total_steps = total_steps

    def set_progress(self, fraction: float) -> None:
        """The share of the run's budget used so far (steps, CPU or wall time, whichever binds), reported by the
        trainer before each step; without it the gamma schedule counts steps of ``setup_training``'s total."""
        self.progress = fraction

    def gamma_at(self, step: int) -> float:
        """Adversarial weight at ``step``: 0 in the warm start, then gamma x the schedule's k-th multiplier after k
        intervals of ``gamma_every`` ("paper": gamma_factor^k; "code": 1, 5, 10, 100, then 100)."""
        c = self.config
        if self.disc is None:
            return 0.0
        if self.progress is None and not self.total_steps:
            return c.gamma
        frac = self.progress if self.progress is not None else step / self.total_steps
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

    def teacher_forced(self, video: torch.Tensor, audio: torch.Tensor) -> dict[str, torch.Tensor]:
        """One pass over a whole clip with the true previous frames. Returns the predictions of the scored frames
        ``start .. T-1`` (``start`` = 1 with ``loss_on_context``, else n_past) as ``pred`` (B, T-start, C, H, W)
        and the prior/posterior parameters of the same steps, (B, T-start, z) each."""
        B, T, C, H, W = video.shape
        p = self.spec.n_past
        start = 1 if self.config.loss_on_context else p
        h, skips = self.enc(self._frames(video.flatten(0, 1)))  # (B*T, g), [(B*T, w, s, s)]
        h = h.view(B, T, -1)  # (B, T, g)
        m = self.prior_stream(h[:, :-1])  # (B, T-1, g): M_{t-1} from X_1..X_{t-1}
        q = self.post_stream(h)[:, 1:]  # (B, T-1, g): Q_t from X_1..X_t
        o = self._audio(audio)
        if o is not None:
            m, q = torch.cat([m, o[:, 1:]], -1), torch.cat([q, o[:, 1:]], -1)  # (B, T-1, 2g): with O_t
        mu_p, lv_p, _ = self.prior(m)  # (B, T-1, z)
        mu_q, lv_q, _ = self.posterior(q)
        z = reparameterise(mu_p, lv_p) if self.config.z_from == "prior" else reparameterise(mu_q, lv_q)
        g, _ = self.predictor(torch.cat([h[:, :-1], z], -1))  # (B, T-1, g): step j predicts frame j + 1
        u = p - start + 1  # skip sources: the context frames start-1 .. p-1
        terms = skip_terms(self.dec, [group_rows(s, T, start - 1, p) for s in skips])
        terms = [self._per_step(t.view(B, u, *t.shape[1:]), T, p) for t in terms]  # (B*(T-start), c, h, w)
        pred = decode_with_terms(self.dec, g[:, start - 1 :].flatten(0, 1), terms).view(B, T - start, C, H, W)
        j = slice(start - 1, None)
        return {"pred": pred, "mu_p": mu_p[:, j], "lv_p": lv_p[:, j], "mu_q": mu_q[:, j], "lv_q": lv_q[:, j]}

    @staticmethod
    def _per_step(t: torch.Tensor, T: int, p: int) -> torch.Tensor:
        """Per-source skip terms (B, u, ...) -> per scored step: its own frame in the context, frame p-1 after."""
        B, u = t.shape[:2]
        last = t[:, -1:].expand(B, T - p, *t.shape[2:])  # (B, T-p, c, h, w)
        return torch.cat([t[:, :-1], last], 1).flatten(0, 1) if u > 1 else last.reshape(-1, *t.shape[2:])

    def training_step(self, batch: Batch, opt: dict[str, torch.optim.Optimizer], step: int) -> dict[str, float]:
        video, audio = batch.video, batch.audio
        p = self.spec.n_past
        out = self.teacher_forced(video, audio)
        pred = out["pred"]  # (B, J', C, H, W): frames T - J' .. T-1
        mse = ((pred - video[:, -pred.shape[1] :]) ** 2).mean()
        kl = kl_gaussians(out["mu_q"], out["lv_q"], out["mu_p"], out["lv_p"])
        loss = mse + self.config.beta * kl  # L_V (Eq. 2), averaged over steps
        gamma = self.gamma_at(step)
        weight = self.adversarial_weight(step)
        logs = {"loss": loss.item(), "mse": mse.item(), "kl": kl.item(), "gamma": gamma}
        total = loss
        if self.disc is not None:
            judged = self.disc.judged(video.shape[1], p)
            first = video.shape[1] - pred.shape[1]
            fake = pred[:, judged.start - first : judged.stop - first]  # (B, J, C, H, W)
            fake = reverse_gradient(fake, weight) if weight > 0 else fake.detach()
            d_loss, d_logs = self.disc.losses(video, audio, fake, p)
            total = total + d_loss
            logs.update(d_loss=d_loss.item(), **d_logs)
        for o in opt.values():
            o.zero_grad(set_to_none=True)
        self.backward(total)  # D gets dL_adv; G gets dL_V - gamma dL_adv (gradient reversal on the fakes)
        for o in opt.values():
            self.optimizer_step(o)
        return logs

    # ---- inference ------------------------------------------------------------------------------------------
    def sample(self, context: torch.Tensor, audio: torch.Tensor, n_future: int, n_samples: int) -> torch.Tensor:
        with eval_mode(self):
            return self._sample(context, audio, n_future, n_samples)

    def _sample(self, context: torch.Tensor, audio: torch.Tensor, n_future: int, S: int) -> torch.Tensor:
        B, p, C, H, W = context.shape
        if audio.shape[1] < p + n_future:
            raise ValueError(f"audio covers {audio.shape[1]} frames, need {p + n_future} (seen + predicted)")
        h, skips = self.enc(self._frames(context.flatten(0, 1)))  # (B*p, g), skips
        h = h.view(B, p, -1)  # (B, p, g)
        terms = skip_terms(self.dec, [s.view(B, p, *s.shape[1:])[:, -1] for s in skips])  # once per clip
        terms = [t.repeat_interleave(S, 0) for t in terms]  # (B*S, c, h, w)
        o = self._audio(audio[:, : p + n_future])  # (B, T, g) or None
        m, cache = self.prior_stream.start(h)  # (B, p, g): M_0..M_{p-1}, cache of the prefix
        cond = m[:, :-1] if o is None else torch.cat([m[:, :-1], o[:, 1:p]], -1)  # (B, p-1, cond)
        mu, lv, pstate = self.prior(cond)  # context steps 1..p-1, once per clip
        z = reparameterise(mu.repeat_interleave(S, 0), lv.repeat_interleave(S, 0))  # (B*S, p-1, z)
        _, gstate = self.predictor(torch.cat([h[:, :-1].repeat_interleave(S, 0), z], -1))  # per sample
        pstate = repeat_lstm_state(pstate, S)
        cache = self.prior_stream.repeat(cache, S)
        o = None if o is None else o.repeat_interleave(S, 0)  # (B*S, T, g)
        h_prev, m_prev = h[:, -1].repeat_interleave(S, 0), m[:, -1].repeat_interleave(S, 0)  # (B*S, g)
        frames = []
        for t in range(p, p + n_future):
            c_t = m_prev if o is None else torch.cat([m_prev, o[:, t]], -1)  # (B*S, cond)
            mu, lv, pstate = self.prior(c_t[:, None], pstate)  # (B*S, 1, z)
            g, gstate = self.predictor(torch.cat([h_prev, reparameterise(mu, lv)[:, 0]], -1)[:, None], gstate)
            x = decode_with_terms(self.dec, g[:, 0], terms)  # (B*S, C, H, W)
            frames.append(x)
            if t < p + n_future - 1:
                h_prev = self.enc(x)[0]  # (B*S, g)
                m_prev, cache = self.prior_stream.step(h_prev, cache)  # (B*S, g)
        return torch.stack(frames, 1).view(B, S, n_future, C, H, W).contiguous()  # (B, S, n_future, C, H, W)

    @torch.no_grad()
    def fooling_rate(self, batch: Batch, n_samples: int = 1) -> float:
        """Share of generated clips the trained discriminator calls real (paper §4.1: 79.26 % Drums, 65.99 %
        Painting, paper figures). Each clip's context is continued ``n_samples`` times (z from the prior, the
        clip's own audio); the generated clip (real context + generated future) is judged at every predicted frame
        with a full window (windows taken from the generated clip itself); a clip counts as real when its mean
        P(real) (mean of the D_std and temporal heads) exceeds 0.5. Returns a share in [0, 1] of B x n_samples."""
        if self.disc is None:
            raise ValueError(f"{self.name} has no discriminator")
        p = self.spec.n_past
        video, audio = batch.video, batch.audio
        B, T = video.shape[:2]
        gen = self.sample(video[:, :p], audio, T - p, n_samples)  # (B, S, T-p, C, H, W)
        ctx = video[:, None, :p].expand(-1, n_samples, -1, -1, -1, -1)
        clips = torch.cat([ctx, gen], 2).flatten(0, 1)  # (B*S, T, C, H, W)
        with eval_mode(self):
            prob = self.disc.real_probability(clips, audio.repeat_interleave(n_samples, 0), p)  # (B*S, J)
        return (prob.mean(1) > 0.5).float().mean().item()
