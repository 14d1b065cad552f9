"""The sequence streams: one causal call == cached steps == re-encoding every prefix (the original's form)."""
from __future__ import annotations

import pytest
import torch

from baselines._blocks import FrameDecoder, FrameEncoder
from baselines._skipdec import decode_with_terms, skip_terms
from baselines._streams import CausalTransformer, LSTMStream, SeqGaussianLSTM, SeqLSTM


def _prefix_reencoding(stream: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The original's computation: at every step, run the stream over the whole prefix and keep the last output."""
    return torch.stack([stream(x[:, : t + 1])[:, -1] for t in range(x.shape[1])], 1)


def _cached_steps(stream: torch.nn.Module, x: torch.Tensor, n_start: int) -> torch.Tensor:
    y0, state = stream.start(x[:, :n_start])
    ys = [y0]
    for t in range(n_start, x.shape[1]):
        y, state = stream.step(x[:, t], state)
        ys.append(y[:, None])
    return torch.cat(ys, 1)


@pytest.mark.parametrize("layers", [1, 2])
def test_transformer_full_equals_stepwise_and_cached(layers: int) -> None:
    torch.manual_seed(0)
    tf = CausalTransformer(12, 10, d_model=32, heads=4, ff=16, layers=layers).eval()
    x = torch.randn(3, 9, 12)
    full = tf(x)  # (3, 9, 10)
    assert full.shape == (3, 9, 10)
    torch.testing.assert_close(full, _prefix_reencoding(tf, x), atol=1e-5, rtol=0)
    for n_start in (1, 4):
        torch.testing.assert_close(full, _cached_steps(tf, x, n_start), atol=1e-5, rtol=0)


def test_transformer_is_causal_and_uses_the_past() -> None:
    torch.manual_seed(1)
    tf = CausalTransformer(6, 5, d_model=16, heads=2, ff=8).eval()
    x = torch.randn(2, 7, 6)
    x2 = x.clone()
    x2[:, 4:] += 1.0  # change the future: outputs before position 4 must not move
    y, y2 = tf(x), tf(x2)
    torch.testing.assert_close(y[:, :4], y2[:, :4])
    assert (y[:, 4:] - y2[:, 4:]).abs().max() > 1e-3
    x3 = x.clone()
    x3[:, 0] += 1.0  # change the first position: the last output must move (attention reaches back)
    assert (tf(x3)[:, -1] - y[:, -1]).abs().max() > 1e-4


def test_cache_repeat_matches_per_sample_runs() -> None:
    torch.manual_seed(2)
    tf = CausalTransformer(6, 5, d_model=16, heads=2, ff=8).eval()
    x = torch.randn(2, 5, 6)
    _, cache = tf.start(x)
    new = torch.randn(2 * 3, 6)
    y_rep, _ = tf.step(new, tf.repeat(cache, 3))  # rows b*3 .. b*3+2 belong to clip b
    for b in range(2):
        for s in range(3):
            ref = tf(torch.cat([x[b : b + 1], new[b * 3 + s][None, None]], 1))[:, -1]
            torch.testing.assert_close(y_rep[b * 3 + s][None], ref, atol=1e-5, rtol=0)


def test_lstm_stream_full_equals_steps() -> None:
    torch.manual_seed(3)
    st = LSTMStream(6, 5, hidden=8)
    x = torch.randn(2, 6, 6)
    torch.testing.assert_close(st(x), _cached_steps(st, x, 2), atol=1e-6, rtol=0)


def test_seq_lstms_continue_from_state() -> None:
    torch.manual_seed(4)
    pred, gauss = SeqLSTM(7, 5, hidden=8, layers=2), SeqGaussianLSTM(7, 3, hidden=8)
    x = torch.randn(2, 6, 7)
    y, _ = pred(x)
    y1, s1 = pred(x[:, :4])
    y2, _ = pred(x[:, 4:], s1)
    torch.testing.assert_close(y, torch.cat([y1, y2], 1), atol=1e-6, rtol=0)
    mu, lv, _ = gauss(x)
    mu1, lv1, g1 = gauss(x[:, :3])
    mu2, lv2, _ = gauss(x[:, 3:], g1)
    torch.testing.assert_close(mu, torch.cat([mu1, mu2], 1), atol=1e-6, rtol=0)
    torch.testing.assert_close(lv, torch.cat([lv1, lv2], 1), atol=1e-6, rtol=0)


@pytest.mark.parametrize("side,channels", [(16, 1), (32, 3)])
def test_decoder_with_shared_skip_terms_equals_the_decoder(side: int, channels: int) -> None:
    torch.manual_seed(5)
    enc, dec = FrameEncoder(channels, side, 12, 8), FrameDecoder(channels, side, 12, 8)
    frames = torch.rand(2, channels, side, side)
    _, skips = enc(frames)  # two skip sources
    h = torch.randn(2 * 4, 12)  # four decoded frames per source
    want = dec(h, [s.repeat_interleave(4, 0) for s in skips])
    got = decode_with_terms(dec, h, [t.repeat_interleave(4, 0) for t in skip_terms(dec, skips)])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
