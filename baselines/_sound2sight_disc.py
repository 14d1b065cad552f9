"""Sound2Sight's multimodal discriminator (paper §3, Eq. 3): a per-frame head D_std and a temporal head D.

A judged frame X_t (real or generated) is placed in a window of the R previous and k-1 next *real* frames of its clip;
each window position is ``cat(frame embedding, audio embedding)`` (2 x g_dim) and an LSTM over the R + k positions
ends in a logit (motion dynamics, MD). The audio-alignment (AA) negatives are the same windows with the audio of
another clip of the batch (rolled by one; with a batch of one clip, the clip's own audio shifted by half its length).
D_std is a linear head on the judged frame's embedding alone. Frames and audio are embedded by the discriminator's
own copies of the frame and audio encoders, computed once per batch for all windows (real frames once, generated
frames once; the mismatched windows reuse the same embeddings), and the temporal LSTM runs over the R real history
positions once for the real and the generated windows that share them.

Loss L_adv (binary cross-entropy on logits, one mean per term), minimised by the discriminator:
  std(real)->1, std(fake)->0, [MD] D(real)->1, D(fake)->0, [AA] D(real, other audio)->0, D(fake, other audio)->0.
The generator minimises L_V - gamma L_adv (the paper's minimax objective) through a gradient-reversal layer on the
generated frames, so one backward pass trains both players and the discriminator's encoders run once on the fakes.

Deviations from the original (``S2S@217d663``):
- the discriminator's encoders learn (the original detaches every input, so they stay at their random init);
  ``train_encoders=False`` reproduces the defect;
- one logit per head with BCE instead of two Tanh-squashed logits with cross-entropy (the Tanh caps the logits at
  +-1, so the discriminator could never become confident);
- the generator follows the paper's minimax form (-gamma L_adv, via gradient reversal) instead of the original's
  non-saturating labels, and gains nothing from generated frames with *mismatched* audio (the original labels those
  "real" for the generator, which works against audio alignment);
- only the predicted frames t >= n_past with a full window are judged (Eq. 3 sums over t = F+1..T; the original
  judges every step from the fourth frame on); real and generated frames pass the encoders as separate batches.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from s2sbench.errors import ConfigError

from ._conv import AudioEncoder, FrameEncoder


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:  # type: ignore[override]
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Identity forward; backward multiplies the gradient by -scale (one backward pass for a minimax game)."""
    return _ReverseGradient.apply(x, scale)


class MultimodalDiscriminator(nn.Module):
    """D_std + temporal LSTM head D over windows of R previous and k-1 next frames with their audio."""

    def __init__(self, channels: int, side: int, audio_patch: tuple[int, int] | None, *, g_dim: int = 128,
                 base: int = 64, hidden: int = 256, history: int = 2, lookahead: int = 1, md: bool = True,
                 aa: bool = True, train_encoders: bool = True, audio_base: int = 64, fast: bool = False) -> None:
        super().__init__()
        if aa and not md:
            raise ConfigError("the audio-alignment term needs the temporal (motion-dynamics) head: set md=True")
        if aa and audio_patch is None:
            raise ConfigError("the audio-alignment term needs audio")
        if lookahead < 1 or history < 0:
            raise ConfigError(f"need history R >= 0 and lookahead k >= 1 (got R={history}, k={lookahead})")
        self.R, self.k, self.md, self.aa, self.train_encoders = history, lookahead, md, aa, train_encoders
        self.encoder = FrameEncoder(channels, side, g_dim, base, fast)
        self.audio_encoder = AudioEncoder(audio_patch, g_dim, audio_base, fast) if audio_patch is not None else None
        if not train_encoders:  # the original's defect: frozen at init (gradients still flow through to G)
            for m in (self.encoder, self.audio_encoder):
                if m is not None:
                    m.requires_grad_(False)
        self.std_head = nn.Linear(g_dim, 1)
        if md:
            in_dim = g_dim * (2 if self.audio_encoder is not None else 1)
            self.lstm = nn.LSTM(in_dim, hidden, batch_first=True)
            self.head = nn.Linear(hidden, 1)

    def first_judged(self, n_past: int) -> int:
        """Index of the first judged frame: the first predicted frame with R frames before it."""
        return max(self.R if self.md else 0, n_past)

    def judged(self, T: int, n_past: int) -> range:
        """Indices t of the judged frames of a T-frame clip."""
        return range(self.first_judged(n_past), T - (self.k - 1 if self.md else 0))

    def _real(self, video: torch.Tensor, audio: torch.Tensor, t0: int, train: bool
              ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Embeddings of the real frames and audio from t0 - R on: (B, L, g) and (B, L, g) or None."""
        s = t0 - (self.R if self.md else 0)
        B, L = video.shape[0], video.shape[1] - s
        with torch.set_grad_enabled(train and torch.is_grad_enabled()):
            ev = self.encoder(video[:, s:].flatten(0, 1))[0].view(B, L, -1)  # (B, L, g)
            ea = None
            if self.audio_encoder is not None and self.md:
                ea = self.audio_encoder(audio[:, s:].flatten(0, 1)).view(B, L, -1)  # (B, L, g)
        return ev, ea

    def _windows(self, ev: torch.Tensor, ea: torch.Tensor | None, centre: torch.Tensor | None) -> torch.Tensor:
        """Every window of the real embeddings, the judged position replaced by ``centre``: (B, J, R+k, in)."""
        n = self.R + self.k
        win = ev.unfold(1, n, 1).transpose(2, 3)  # (B, J, R+k, g)
        if centre is not None:
            win = torch.cat([win[:, :, : self.R], centre[:, :, None], win[:, :, self.R + 1 :]], 2)
        if ea is not None:
            win = torch.cat([win, ea.unfold(1, n, 1).transpose(2, 3)], 3)  # (B, J, R+k, 2g)
        return win

    def _temporal(self, *groups: list[torch.Tensor]) -> list[torch.Tensor]:
        """Logits of D for groups of window sets that share their first R positions (the real history with the
        same audio: only the judged and later positions differ), in two LSTM calls: the shared prefixes once, then
        every set's own positions from the prefix state. A (B, J) tensor per set, in order."""
        B, J, n, d = groups[0][0].shape
        R, per = self.R, len(groups[0])
        state = None
        if R > 0:
            _, (h, c) = self.lstm(torch.cat([g[0][:, :, :R] for g in groups], 0).view(-1, R, d))  # (1, G*B*J, hid)
            state = tuple(s.view(1, len(groups), 1, B * J, -1).expand(-1, -1, per, -1, -1).reshape(1, -1, s.shape[-1])
                          for s in (h, c))  # the prefix state of every set of the group
        tails = torch.cat([w[:, :, R:] for g in groups for w in g], 0).view(-1, n - R, d)  # (G*per*B*J, k, d)
        y, _ = self.lstm(tails, state)  # (G*per*B*J, k, hidden)
        return list(self.head(y[:, -1]).view(len(groups) * per, B, J).unbind(0))

    @staticmethod
    def _other_audio(ea: torch.Tensor) -> torch.Tensor:
        if ea.shape[0] > 1:
            return ea.roll(1, 0)
        return ea.roll(ea.shape[1] // 2, 1)

    def losses(self, video: torch.Tensor, audio: torch.Tensor, fake: torch.Tensor, n_past: int
               ) -> tuple[torch.Tensor, dict[str, float]]:
        """The discriminator's loss L_adv and logs for generated frames ``fake`` (B, J, C, H, W) at ``judged``.

        Pass ``reverse_gradient(fake, gamma)`` to train both players with one backward pass: the discriminator
        minimises L_adv while the generator receives -gamma x its gradient (the paper's L = L_V - gamma L_adv);
        pass ``fake.detach()`` to train the discriminator alone.
        """
        t0 = self.first_judged(n_past)
        B, J = fake.shape[:2]
        ev, ea = self._real(video, audio, t0, self.train_encoders)
        ef = self.encoder(fake.flatten(0, 1))[0].view(B, J, -1)  # (B, J, g)
        R = self.R if self.md else 0
        std_r, std_f = self.std_head(ev[:, R : R + J]), self.std_head(ef)  # (B, J, 1)
        d_loss = _bce(std_r, 1.0) + _bce(std_f, 0.0)
        logs = {"d_std_real": torch.sigmoid(std_r).mean().item(), "d_std_fake": torch.sigmoid(std_f).mean().item()}
        if self.md:
            groups = [[self._windows(ev, ea, None), self._windows(ev, ea, ef)]]
            if self.aa:  # the generated frame enters detached: the generator gains nothing from mismatched audio
                other = self._other_audio(ea)
                groups.append([self._windows(ev, other, None), self._windows(ev, other, ef.detach())])
            d_real, d_fake, *mis = self._temporal(*groups)
            d_loss = d_loss + _bce(d_real, 1.0) + _bce(d_fake, 0.0)
            logs.update(d_md_real=torch.sigmoid(d_real).mean().item(), d_md_fake=torch.sigmoid(d_fake).mean().item())
            if self.aa:
                d_loss = d_loss + _bce(mis[0], 0.0) + _bce(mis[1], 0.0)
                logs["d_aa_real"] = torch.sigmoid(mis[0]).mean().item()
        return d_loss, logs

    @torch.no_grad()
    def real_probability(self, clip: torch.Tensor, audio: torch.Tensor, n_past: int) -> torch.Tensor:
        """P(real) of every judged frame of ``clip`` (B, T, C, H, W), the windows taken from the clip itself:
        the mean of sigmoid(D_std) and, with the temporal head, sigmoid(D). Returns (B, J)."""
        t0 = self.first_judged(n_past)
        ev, ea = self._real(clip, audio, t0, False)
        R = self.R if self.md else 0
        J = len(self.judged(clip.shape[1], n_past))
        p = torch.sigmoid(self.std_head(ev[:, R : R + J])[..., 0])  # (B, J)
        if self.md:
            p = 0.5 * (p + torch.sigmoid(self._temporal([self._windows(ev, ea, None)])[0]))
        return p
