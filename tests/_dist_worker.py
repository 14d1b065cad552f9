"""Worker of the multi-process tests (tests/test_distributed.py), launched by ``torchrun`` with 2 CPU processes.

``python -m torch.distributed.run --standalone --nproc-per-node 2 tests/_dist_worker.py SCENARIO DATA OUT``:

- ``resume``: an uninterrupted run; a run stopped by a NaN on rank 1 only at step 3 (both ranks must stop), then
  resumed from its ``last.pt``; then a run whose validation raises on rank 0 (both ranks must stop with that error);
  then ``s2sbench run`` on a missing real dataset (rank 0's data error reaches rank 1), then a whole smoke ``run``
  (both ranks train, rank 0 alone evaluates). Each rank writes what it saw
  to ``OUT/rank{R}.json`` and its final weights to ``OUT/{full,cut}-rank{R}.pt``.
- ``fail_step``: rank 1 raises inside a training step at step 2 (the launch must end, with that error).
"""
from __future__ import annotations

import json
import os
import sys

import torch

import s2sbench.testing  # noqa: F401 - registers testing_tiny
from s2sbench.data.handle import Data
from s2sbench.eval.validation import val_scores
from s2sbench.models import DataSpec, build_model
from s2sbench.train.trainer import TrainConfig, fit

CFG = TrainConfig(steps=6, batch_size=4, val_every=3, val_batches=1, checkpoint_every=2, seed=5)


def tiny(seed: int = 3, **cfg):
    torch.manual_seed(seed)
    return build_model("testing_tiny", DataSpec.for_dataset("m3so-nb"), cfg)


def caught(fn) -> str:
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - what each rank saw is the test's subject
        return f"{type(e).__name__}: {e}"
    return ""


def main(scenario: str, root: str, out: str) -> None:
    rank, data = int(os.environ["RANK"]), Data.open(root, "m3so-nb")
    torch.set_num_threads(1)
    if scenario == "fail_step":
        fit(tiny(fail_at_step=2, only_rank=1), data, os.path.join(out, "fail"), CFG, device="cpu", progress=False)
        return
    seen: dict[str, str] = {}
    m = tiny(seed=3 + 10 * rank)  # other initial weights on rank 1: rank 0's are broadcast
    fit(m, data, os.path.join(out, "full"), CFG, val_score=val_scores, device="cpu", progress=False)
    torch.save(m.state_dict(), os.path.join(out, f"full-rank{rank}.pt"))
    cut = os.path.join(out, "cut")
    seen["nan"] = caught(lambda: fit(tiny(nan_at_step=3, only_rank=1), data, cut, CFG, val_score=val_scores,
                                     device="cpu", progress=False))
    m = tiny(seed=99)
    seen["resumed_from"] = str(fit(m, data, cut, CFG, val_score=val_scores, device="cpu", resume=True,
                                   progress=False)["resumed_from"])
    torch.save(m.state_dict(), os.path.join(out, f"cut-rank{rank}.pt"))

    def explode(model, batch):
        if rank == 0:
            raise ValueError("validation exploded on rank 0")
        return val_scores(model, batch)
    seen["val"] = caught(lambda: fit(tiny(), data, os.path.join(out, "val"), CFG, val_score=explode, device="cpu",
                                     progress=False))

    from s2sbench.train.runner import run

    seen["data"] = caught(lambda: run("testing_tiny", "audioset-drums", data=os.path.join(out, "no-such-dir"),
                                      out=os.path.join(out, "run"), progress=False, echo=lambda s: None))
    result, _ = run("testing_tiny", "m3so-nb", data=root, out=os.path.join(out, "run-ok"), device="cpu",
                    sets=("train.steps=2", "train.batch_size=4", "eval.n_clips=2", "eval.n_samples=2"),
                    progress=False, echo=lambda s: None)
    seen["run"] = "none" if result is None else f"world {result.train['world_size']} clips {result.clips_used}"
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump(seen, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
