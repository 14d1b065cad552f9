"""Evaluation's optional extras (stage 4 of ``s2sbench.eval.evaluate``): how diverse a model's samples are, how
the best of K samples improves with K, and how often a model's own discriminator takes its futures for real."""
from __future__ import annotations

from typing import Any

import torch

from s2sbench.data.loader import Batch
from s2sbench.eval.diversity import FARNEBACK, best_of_k, flow_images, pairwise_curve, pairwise_matrix
from s2sbench.eval.metrics import METRICS, Metric
from s2sbench.eval.protocols import PAPER
from s2sbench.predictor import VideoPredictor


class Extras:
    """Sample diversity of the first ``diversity_clips`` clips (on frames; on optical flow with ``flow``), best-of-K
    curves, and the fooling rate of a model that has its own trained discriminator (``disc`` and ``fooling_rate``:
    one extra generated future per clip, judged by it)."""

    def __init__(self, model: VideoPredictor, diversity_clips: int, flow: bool) -> None:
        self.model, self.limit, self.flow = model, diversity_clips, flow
        self.judged = getattr(model, "disc", None) is not None and callable(getattr(model, "fooling_rate", None))
        self.pair_img: list[torch.Tensor] = []
        self.pair_flow: list[torch.Tensor] = []
        self.flow_best: list[torch.Tensor] = []
        self.fooled, self.clips = 0.0, 0

    def diversity(self, batch: Batch, pred: torch.Tensor, target: torch.Tensor) -> None:
        if not self.model.stochastic:
            return
        for j in range(len(batch)):
            if int(batch.index[j]) < self.limit:
                self.pair_img.append(pairwise_matrix(pred[j]))
                if self.flow:
                    fp, ft = flow_images(pred[j]), flow_images(target[j])  # (S, F-1, 2, H, W), (F-1, 2, H, W)
                    self.flow_best.append(METRICS.get(PAPER.metric)(fp, ft.unsqueeze(0)).unsqueeze(0))
                    self.pair_flow.append(pairwise_matrix(fp))

    def judge(self, batch: Batch) -> None:
        if self.judged:
            with torch.no_grad():
                self.fooled += self.model.fooling_rate(batch) * len(batch)
        self.clips += len(batch)

    def fields(self, full: dict[str, torch.Tensor], metrics: dict[str, Metric]) -> dict[str, Any]:
        """``diversity`` and, for a judged model, ``fooling_rate`` (share of generated clips it calls real)."""
        div: dict[str, Any] = {"best_of_k": {n: best_of_k(full[n], m.higher_is_better, m.cap)
                                             for n, m in metrics.items()}}
        pairwise = f"pairwise_{PAPER.metric}"
        if self.pair_img:
            div[pairwise] = pairwise_curve(torch.stack(self.pair_img))
            div["diversity_clips"] = len(self.pair_img)
        if self.flow_best:
            div["flow"] = {"method": "opencv farneback", "params": FARNEBACK,
                           f"best_of_k_{PAPER.metric}": best_of_k(torch.cat(self.flow_best)),
                           pairwise: pairwise_curve(torch.stack(self.pair_flow))}
        judged = {"fooling_rate": self.fooled / self.clips} if self.judged and self.clips else {}
        return {**judged, "diversity": div}
