"""``_blocks.FrameDecoder`` evaluated with the skip half of each layer computed once per skip source.

Each decoder layer after the head is ConvTranspose(cat([x, skip])), and a convolution is linear in its input
channels: ConvT(cat([x, s])) = ConvT_x(x) + ConvT_s(s), where ConvT_x / ConvT_s use the two halves of the weight
(the bias goes with the x half). When many decoded frames share one skip source (every predicted frame of a clip uses
the skips of the last seen frame; every sample of a clip too), ``skip_terms`` computes ConvT_s(s) once per source
and ``decode_with_terms`` adds it to each frame's ConvT_x(x): the same function as ``FrameDecoder.forward`` for about
half of its multiply-adds (tests/test_sound2sight.py checks the equality). The transposed convolutions go through
``_fastconv.conv_transpose`` (the image layer as a matrix product and col2im).
"""
from __future__ import annotations

import torch

from ._blocks import FrameDecoder
from ._fastconv import conv_transpose


def _convs(dec: FrameDecoder) -> list[torch.nn.ConvTranspose2d]:
    return [layer[0] for layer in dec.layers] + [dec.out[0]]


def skip_terms(dec: FrameDecoder, skips: list[torch.Tensor]) -> list[torch.Tensor]:
    """ConvT_s(skip) of every concatenating layer, for skip sets (N, w_i, s_i, s_i): [(N, c_out, 2 s_i, 2 s_i)]."""
    if not dec.use_skips:
        raise ValueError("the decoder was built without skips")
    terms = []
    for i, conv in enumerate(_convs(dec)):
        s = skips[-1 - i]
        w = conv.weight[-s.shape[1] :]  # (w_i, c_out, k, k): the skip channels come second in the concatenation
        terms.append(conv_transpose(s, w, None, conv))
    return terms


def decode_with_terms(dec: FrameDecoder, h: torch.Tensor, terms: list[torch.Tensor]) -> torch.Tensor:
    """``dec(h, skips)`` from the precomputed ``skip_terms`` of each row's skips: (N, g) -> (N, C, S, S)."""
    x = dec.head(h[:, :, None, None])  # (N, w_last, s, s)
    for conv, seq, term in zip(_convs(dec), list(dec.layers) + [dec.out], terms):
        w = conv.weight[: x.shape[1]]  # (c_x, c_out, k, k)
        x = conv_transpose(x, w, conv.bias, conv)
        x = seq[1:](x + term)  # BN + LeakyReLU (or the final Sigmoid)
    return x
