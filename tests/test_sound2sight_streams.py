"""The sequence streams: one causal call == cached steps == re-encoding every prefix (the original's form); the
decoder with shared skip terms and the fast convolution forms equal the plain modules."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from s2sbench.baselines._blocks import FrameDecoder, FrameEncoder, UnitClamp
from s2sbench.baselines._fastconv import conv_transpose, group_rows, use_fast_convs
from s2sbench.baselines._skipdec import decode_with_terms, skip_terms
from s2sbench.baselines._streams import CausalTransformer, LSTMStream, SeqGaussianLSTM, SeqLSTM


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


@pytest.mark.parametrize("side,channels,output", [(16, 1, "sigmoid"), (32, 3, "sigmoid"), (16, 1, "clamp")])
def test_decoder_with_shared_skip_terms_equals_the_decoder(side: int, channels: int, output: str) -> None:
    torch.manual_seed(5)
    enc, dec = FrameEncoder(channels, side, 12, 8), FrameDecoder(channels, side, 12, 8, output=output)
    frames = torch.rand(2, channels, side, side)
    _, skips = enc(frames)  # two skip sources
    h = torch.randn(2 * 4, 12)  # four decoded frames per source
    want = dec(h, [s.repeat_interleave(4, 0) for s in skips])
    got = decode_with_terms(dec, h, [t.repeat_interleave(4, 0) for t in skip_terms(dec, skips)])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("channels_last", [True, False])
def test_fast_convolutions_equal_the_nn_modules(channels_last: bool) -> None:
    """``_fastconv``: the matrix-product forms (whole-map, one-channel, tiny-output convolutions, the 1x1 transposed
    head, the few-channel image layer) give the outputs and gradients of the ``nn`` modules, in the input's layout."""
    torch.manual_seed(3)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    cases = [(nn.Conv2d(6, 5, (4, 3)), (4, 6, 4, 3)), (nn.Conv2d(1, 4, 4, 2, 1), (3, 1, 10, 10)),
             (nn.Conv2d(6, 5, 4, 2, 1), (3, 6, 5, 4)), (nn.Conv2d(3, 4, 3, 1, 1), (2, 3, 6, 6)),
             (nn.ConvTranspose2d(6, 5, 4), (3, 6, 1, 1))]
    for conv, shape in cases:
        fast = use_fast_convs(nn.Sequential(copy.deepcopy(conv)))[0]
        assert type(fast) is not type(conv)
        x = torch.randn(shape).contiguous(memory_format=fmt).requires_grad_()
        outs = [m(x) for m in (conv, fast)]
        g = torch.randn_like(outs[0])
        grads = [torch.autograd.grad(y, (x, m.weight, m.bias), g) for y, m in zip(outs, (conv, fast))]
        torch.testing.assert_close(outs[1], outs[0], atol=1e-5, rtol=1e-5)
        for a, b in zip(*grads):
            torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
    up = nn.ConvTranspose2d(6, 2, 4, 2, 1)
    x = torch.randn(3, 6, 5, 5).contiguous(memory_format=fmt).requires_grad_()
    want, got = up(x), conv_transpose(x, up.weight, up.bias, up)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    g = torch.randn_like(want)
    fast_grads = torch.autograd.grad(got, (x, up.weight), g)
    for a, b in zip(torch.autograd.grad(want, (x, up.weight), g), fast_grads):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
    assert fast_grads[0].is_contiguous(memory_format=fmt)  # the input's layout (channels_last stays channels_last)


def test_group_rows_selects_rows_and_keeps_the_gradient_layout() -> None:
    x = torch.randn(3 * 4, 2, 3, 3).contiguous(memory_format=torch.channels_last).requires_grad_()
    y = group_rows(x, 4, 1, 3)  # rows 1, 2 of each group of 4
    torch.testing.assert_close(y, x.view(3, 4, 2, 3, 3)[:, 1:3].flatten(0, 1))
    (g,) = torch.autograd.grad((y * torch.arange(y.numel()).view_as(y)).sum(), x)
    want = torch.zeros(3, 4, 2, 3, 3)
    want[:, 1:3] = torch.arange(y.numel(), dtype=torch.float32).view(3, 2, 2, 3, 3)
    torch.testing.assert_close(g, want.flatten(0, 1))
    assert g.is_contiguous(memory_format=torch.channels_last)


def test_clamped_output_reaches_exact_black_and_passes_gradients_straight_through() -> None:
    x = torch.tensor([-2.0, -0.1, 0.0, 0.3, 1.0, 1.7], requires_grad=True)
    y = UnitClamp()(x)
    assert torch.equal(y, x.detach().clamp(0, 1))
    target = torch.tensor([0.0, 0.5, 0.0, 0.3, 1.0, 0.2])
    ((y - target) ** 2).sum().backward()  # d/dx = 2 (clamp(x) - target): clamped pixels still learn
    torch.testing.assert_close(x.grad, 2 * (y.detach() - target))
    assert x.grad[0] == 0 and x.grad[1] < 0 and x.grad[5] > 0  # right at 0, pulled up, pushed down
    torch.manual_seed(0)
    dec = FrameDecoder(1, 16, 12, 8, skips=False, output="clamp")
    out = dec(torch.randn(4, 12))
    assert out.min() == 0 and out.max() <= 1  # exact zeros, unlike a Sigmoid
    with pytest.raises(ValueError, match="unknown decoder output 'tanh'"):
        FrameDecoder(1, 16, 12, 8, output="tanh")
