"""Protocols, summaries and diversity curves on hand-made score tensors whose answers are known."""
from __future__ import annotations

import math

import pytest
import torch

from s2sbench.eval.diversity import best_of_k, pairwise_curve, pairwise_matrix
from s2sbench.eval.metrics import ssim_paper
from s2sbench.eval.protocols import PROTOCOLS, apply, summarize

# one clip, three samples, two frames: sample 0 is best at frame 0, sample 2 at frame 1, sample 1 on average
SCORES = torch.tensor([[[0.9, 0.1],
                        [0.6, 0.7],
                        [0.2, 0.8]]])


def test_best_per_frame_picks_each_frame_independently():
    assert apply("best_per_frame", SCORES)[0].tolist() == pytest.approx([0.9, 0.8])
    assert apply("best_per_frame", SCORES, higher_is_better=False)[0].tolist() == pytest.approx([0.2, 0.1])


def test_best_sequence_keeps_one_whole_sample():
    assert apply("best_sequence", SCORES)[0].tolist() == pytest.approx([0.6, 0.7])  # mean 0.65 beats 0.5, 0.5
    assert apply("best_sequence", SCORES, higher_is_better=False)[0].tolist() == pytest.approx([0.9, 0.1])


def test_mean_and_registry():
    assert apply("mean", SCORES)[0].tolist() == pytest.approx([1.7 / 3, 1.6 / 3])
    assert PROTOCOLS.keys() == ["best_per_frame", "best_sequence", "mean"]
    with pytest.raises(ValueError, match=r"\(B, S, T\)"):
        apply("mean", SCORES[0])


def test_best_per_frame_is_an_upper_bound_of_best_sequence():
    s = torch.rand(5, 7, 4, generator=torch.Generator().manual_seed(0))
    assert (apply("best_per_frame", s) >= apply("best_sequence", s)).all()
    assert (apply("best_sequence", s).mean(1) >= apply("mean", s).mean(1)).all()


def test_summarize_clamps_and_counts_infinities():
    per_clip = torch.tensor([[20.0, math.inf], [30.0, 40.0]])
    s = summarize(per_clip, cap=100.0)
    assert s["curve"] == pytest.approx([25.0, 70.0])
    assert s["avg"] == pytest.approx(47.5)
    assert s["n_clamped"] == 1
    assert s["std"] == pytest.approx([5.0, 30.0])
    assert s["avg_std"] == pytest.approx(12.5)  # clip averages 60 and 35


def test_best_of_k_is_the_running_best():
    assert best_of_k(SCORES) == pytest.approx([0.5, (0.9 + 0.7) / 2, (0.9 + 0.8) / 2])


def test_pairwise_curve_from_a_known_matrix():
    m = torch.full((1, 3, 3, 1), float("nan"))
    m[0, 0, 1], m[0, 0, 2], m[0, 1, 2] = 0.2, 0.4, 0.9
    assert pairwise_curve(m) == pytest.approx([0.2, 0.5])  # K=2: pair (0,1); K=3: mean of three pairs


def test_pairwise_identical_samples_are_fully_similar():
    x = torch.rand(1, 2, 1, 16, 16).expand(4, -1, -1, -1, -1)  # 4 identical samples, 2 frames
    m = pairwise_matrix(x, ssim_paper)
    assert pairwise_curve(m[None]) == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    y = torch.rand(4, 2, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    assert max(pairwise_curve(pairwise_matrix(y, ssim_paper)[None])) < 0.5  # independent noise: dissimilar


def test_the_paper_scoring_names_registered_entries():
    from s2sbench.eval.metrics import METRICS
    from s2sbench.eval.protocols import PAPER

    assert PAPER.protocol in PROTOCOLS and PAPER.metric in METRICS and PAPER.block_metric in METRICS
    assert METRICS.get(PAPER.block_metric).truth == "block"  # Table 3 scores the block
