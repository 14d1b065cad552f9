"""The models' blocks (``_sequence``, ``_conv``, ``_fastconv``): one causal call == cached steps == re-encoding every
prefix (the original's form); a sequence continued from its state equals one call; the fast path of the conv blocks
(matrix-product convolutions, the decoder's skip half once per source) equals the plain modules."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from s2sbench.baselines._conv import AudioEncoder, FrameDecoder, FrameEncoder, UnitClamp
from s2sbench.baselines._fastconv import FastConv2d, FastConvTranspose2d, conv_transpose
from s2sbench.baselines._sequence import CausalTransformer, GaussianLSTM, LSTMStream, PredictorLSTM


def assert_grads_close(got: list[torch.Tensor], want: list[torch.Tensor], rel: float) -> None:
    """Every gradient within ``rel`` of the whole gradient's norm (a bias before a BatchNorm has a zero gradient,
    whose computed value is rounding noise, so a per-tensor relative test would compare noise with noise)."""
    scale = torch.cat([w.flatten() for w in want]).norm()
    for g, w in zip(got, want, strict=True):
        assert (g - w).norm() <= rel * scale, ((g - w).norm() / scale).item()


def _prefix_reencoding(stream: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The original's computation: at every step, run the stream over the whole prefix and keep the last output."""
    return torch.stack([stream(x[:, : t + 1])[0][:, -1] for t in range(x.shape[1])], 1)


def _cached_steps(stream: torch.nn.Module, x: torch.Tensor, n_start: int, chunk: int = 1) -> torch.Tensor:
    """The first ``n_start`` positions in one call, then ``chunk`` positions at a time from the state."""
    y0, state = stream(x[:, :n_start])
    ys = [y0]
    for t in range(n_start, x.shape[1], chunk):
        y, state = stream(x[:, t : t + chunk], state)
        ys.append(y)
    return torch.cat(ys, 1)


@pytest.mark.parametrize("layers", [1, 2])
def test_transformer_full_equals_stepwise_and_cached(layers: int) -> None:
    torch.manual_seed(0)
    tf = CausalTransformer(12, 10, d_model=32, heads=4, ff=16, layers=layers).eval()
    x = torch.randn(3, 9, 12)
    full = tf(x)[0]  # (3, 9, 10)
    assert full.shape == (3, 9, 10)
    torch.testing.assert_close(full, _prefix_reencoding(tf, x), atol=1e-5, rtol=0)
    for n_start, chunk in ((1, 1), (4, 1), (2, 3)):  # chunks of several positions continue under the causal mask
        torch.testing.assert_close(full, _cached_steps(tf, x, n_start, chunk), atol=1e-5, rtol=0)


def test_transformer_is_causal_and_uses_the_past() -> None:
    torch.manual_seed(1)
    tf = CausalTransformer(6, 5, d_model=16, heads=2, ff=8).eval()
    x = torch.randn(2, 7, 6)
    x2 = x.clone()
    x2[:, 4:] += 1.0  # change the future: outputs before position 4 must not move
    y, y2 = tf(x)[0], tf(x2)[0]
    torch.testing.assert_close(y[:, :4], y2[:, :4])
    assert (y[:, 4:] - y2[:, 4:]).abs().max() > 1e-3
    x3 = x.clone()
    x3[:, 0] += 1.0  # change the first position: the last output must move (attention reaches back)
    assert (tf(x3)[0][:, -1] - y[:, -1]).abs().max() > 1e-4


def test_cache_repeat_matches_per_sample_runs() -> None:
    torch.manual_seed(2)
    tf = CausalTransformer(6, 5, d_model=16, heads=2, ff=8).eval()
    x = torch.randn(2, 5, 6)
    _, cache = tf(x)
    new = torch.randn(2 * 3, 1, 6)
    y_rep, _ = tf(new, tf.repeat(cache, 3))  # rows b*3 .. b*3+2 belong to clip b
    for b in range(2):
        for s in range(3):
            ref = tf(torch.cat([x[b : b + 1], new[b * 3 + s][None]], 1))[0][:, -1]
            torch.testing.assert_close(y_rep[b * 3 + s], ref, atol=1e-5, rtol=0)


def test_lstm_stream_full_equals_steps() -> None:
    torch.manual_seed(3)
    st = LSTMStream(6, 5, hidden=8)
    x = torch.randn(2, 6, 6)
    torch.testing.assert_close(st(x)[0], _cached_steps(st, x, 2), atol=1e-6, rtol=0)


def test_predictor_and_gaussian_lstms_continue_from_state() -> None:
    torch.manual_seed(4)
    pred, gauss = PredictorLSTM(7, 5, hidden=8, layers=2), GaussianLSTM(7, 3, hidden=8)
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


def test_lstm_over_a_sequence_equals_a_stack_of_cells() -> None:
    """The SVG-LP backbone's ``nn.LSTM`` over a sequence is the original's stack of ``LSTMCell`` steps."""
    torch.manual_seed(6)
    pred = PredictorLSTM(7, 5, hidden=8, layers=2)
    cells = [nn.LSTMCell(8, 8) for _ in range(2)]
    for i, cell in enumerate(cells):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).data.copy_(getattr(pred.lstm, f"{name}_l{i}"))
    x = torch.randn(3, 6, 7)
    state = [(torch.zeros(3, 8), torch.zeros(3, 8)) for _ in cells]
    steps = []
    for t in range(6):
        h = pred.embed(x[:, t])
        for i, cell in enumerate(cells):
            state[i] = cell(h, state[i])
            h = state[i][0]
        steps.append(pred.out(h))
    torch.testing.assert_close(pred(x)[0], torch.stack(steps, 1), atol=1e-6, rtol=0)


@pytest.mark.parametrize("side,channels,output", [(16, 1, "sigmoid"), (32, 3, "sigmoid"), (16, 1, "clamp")])
def test_fast_decoder_with_skips_used_several_times_equals_the_plain_decoder(side: int, channels: int,
                                                                               output: str) -> None:
    """``uses``: each skip source serves several consecutive rows; the fast path computes the skip half once per
    source, the plain path concatenates repeated skips: equal outputs and gradients."""
    torch.manual_seed(5)
    enc = FrameEncoder(channels, side, 12, 8)
    plain = FrameDecoder(channels, side, 12, 8, output=output)
    fast = FrameDecoder(channels, side, 12, 8, output=output, fast=True)
    fast.load_state_dict(plain.state_dict())
    _, skips = enc(torch.rand(3, channels, side, side))  # three skip sources
    h = torch.randn(1 + 1 + 4, 12, requires_grad=True)
    for uses in (torch.tensor([1, 1, 4]), 2):
        rows = h if isinstance(uses, torch.Tensor) else h[: 3 * uses]
        want = plain(rows, skips, uses)
        assert want.shape[0] == rows.shape[0]
        got = fast(rows, skips, uses)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
        g = torch.randn_like(want)
        assert_grads_close(torch.autograd.grad(got, [h, *fast.parameters()], g),
                           torch.autograd.grad(want, [h, *plain.parameters()], g), 1e-5)
    repeated = [s.repeat_interleave(2, 0) for s in skips]
    torch.testing.assert_close(plain(h[:6], repeated), plain(h[:6], skips, 2))  # uses = repeating the skips


def test_fast_encoders_equal_the_plain_ones_with_the_same_state_dict() -> None:
    torch.manual_seed(7)
    for plain, fast, shape in ((FrameEncoder(1, 16, 12, 8), FrameEncoder(1, 16, 12, 8, fast=True), (4, 1, 16, 16)),
                               (AudioEncoder((23, 21), 12, 8), AudioEncoder((23, 21), 12, 8, fast=True), (4, 483))):
        assert plain.state_dict().keys() == fast.state_dict().keys()
        fast.load_state_dict(plain.state_dict())
        x = torch.rand(shape)
        a, b = plain(x), fast(x)
        a, b = (a[0], b[0]) if isinstance(a, tuple) else (a, b)
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
        assert any(isinstance(m, FastConv2d) for m in fast.modules())
        assert not any(isinstance(m, FastConv2d) for m in plain.modules())


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
        cls = FastConv2d if isinstance(conv, nn.Conv2d) else FastConvTranspose2d
        fast = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding)
        fast.load_state_dict(conv.state_dict())
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
