"""``grid.gif``: labelled rows (ground truth, best sample, samples), clips side by side, the predicted frames marked
by a border colour and a header, text from the built-in bitmap font."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from s2sbench.data.handle import Data
from s2sbench.eval.evaluate import EvalConfig, evaluate
from s2sbench.eval.grid import _GLYPHS, BORDER, PREDICTED_RGB, SEEN_RGB, TEXT_RGB, compose, text
from s2sbench.models import DataSpec, build_model
from s2sbench.testing import write_fake_dataset

pytestmark = pytest.mark.usefixtures("one_thread")


def test_text_draws_every_glyph_distinctly():
    masks = {ch: text(ch) for ch in _GLYPHS}
    assert text("ab").shape == (7, 11) and (text("ab") == text("AB")).all()
    inked = {ch: m.tobytes() for ch, m in masks.items() if ch != " "}
    assert all(masks[ch].any() for ch in inked) and len(set(inked.values())) == len(inked)  # no two alike
    assert not text(" ").any() and not text("~").any()  # unknown characters are blank


def test_compose_labels_rows_and_marks_the_predicted_frames():
    T, n_past, H, W = 5, 3, 8, 10
    rng = np.random.default_rng(0)
    rows = [(name, rng.integers(0, 256, (2, T, H, W, 1), dtype=np.uint8)) for name in ("ground truth", "best")]
    out = compose(rows, n_past)
    assert out.dtype == np.uint8 and out.shape[0] == T
    left = max(text(n).shape[1] for n, _ in rows) + 6
    for r, (_, videos) in enumerate(rows):
        ph = H + 2 * BORDER
        y = 13 + r * (ph + 2)
        for c in range(2):
            x = left + c * (W + 2 * BORDER + 2)
            for t in range(T):
                assert tuple(out[t, y, x]) == (SEEN_RGB if t < n_past else PREDICTED_RGB)  # the border's corner
                inner = out[t, y + BORDER:y + BORDER + H, x + BORDER:x + BORDER + W]
                assert (inner == videos[c, t]).all()  # grey frames as RGB, unchanged
        label = out[0, y:y + ph, :left]
        assert (label == TEXT_RGB).all(-1).any()  # the row's label is drawn beside it
    header_seen, header_pred = out[0, :13], out[n_past, :13]
    assert (header_seen == SEEN_RGB).all(-1).any() and (header_pred == PREDICTED_RGB).all(-1).any()


@pytest.mark.parametrize("model,cfg,rows", [("testing_tiny", {"noise": 0.5}, 5), ("copy_last", None, 2)])
def test_grid_gif_has_a_row_per_kind(tmp_path, model, cfg, rows):
    PIL = pytest.importorskip("PIL.Image")
    write_fake_dataset(tmp_path / "nb", "m3so-nb", {"train": 4, "test": 3})
    torch.manual_seed(0)
    net = build_model(model, DataSpec.for_dataset("m3so-nb"), cfg)
    data = Data.open(tmp_path / "nb", "m3so-nb")
    evaluate(net, data, EvalConfig(n_samples=4, n_clips=3, diversity_clips=0, save_samples=0, grid_clips=3),
             out_dir=tmp_path / "run", progress=False)
    gif = PIL.open(tmp_path / "run" / "grid.gif")
    panel = 48 + 2 * BORDER + 2
    assert gif.n_frames == 25 and gif.size[1] == 2 * (13 + rows * panel)  # written at scale 2
    assert gif.size[0] > 2 * 3 * panel  # three clips side by side, after the labels
