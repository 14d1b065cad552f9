"""Multi-process training on the CPU (gloo), through the same code path as NCCL on GPUs (issue #14):
2 x B equals 1 x 2B (gradients averaged, not summed, by the trainer although the model calls plain ``opt.step()``),
an optimiser's own ``step()`` averages once the trainer has wrapped it, resume under torchrun equals an
uninterrupted run, an error on one rank ends every rank with that error, and rank 0's data error reaches the
others."""
from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from s2sbench.data.handle import Data
from s2sbench.models import DataSpec, build_model
from s2sbench.testing import write_fake_dataset
from s2sbench.train.trainer import TrainConfig, fit

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]
EQ = TrainConfig(steps=4, batch_size=4, val_batches=0, checkpoint_every=4, seed=1)  # 3 steps per epoch at 2 x 4


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("fake-nb")
    write_fake_dataset(root, "m3so-nb", {"train": 24, "val": 4, "test": 4})
    return root


def deterministic(seed: int):
    torch.manual_seed(seed)  # no noise, no batch statistics, SGD: the update is linear in the averaged gradient
    return build_model("testing_tiny", DataSpec.for_dataset("m3so-nb"), {"noise": 0.0, "sgd": True, "lr": 0.5})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from s2sbench.train import distributed

    model = deterministic(seed=rank)  # different initial weights per rank: the trainer must broadcast rank 0's
    fit(model, Data.open(data, "m3so-nb"), out, EQ, device="cpu", progress=False)
    torch.save(model.state_dict(), os.path.join(out, f"rank{rank}.pt"))
    distributed.shutdown()


def test_two_processes_of_batch_b_equal_one_process_of_batch_2b(data, tmp_path):
    init = deterministic(seed=0).state_dict()
    one = deterministic(seed=0)
    fit(one, Data.open(data, "m3so-nb"), tmp_path / "one", TrainConfig(**{**EQ.__dict__, "batch_size": 8}),
        device="cpu", progress=False)
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(data), str(tmp_path)), nprocs=2, join=True)
    w0, w1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert all(torch.equal(w0[k], w1[k]) for k in w0)  # the ranks agree
    ref = one.state_dict()
    diff = max((w0[k] - ref[k]).abs().max().item() for k in w0)
    moved = max((ref[k] - init[k]).abs().max().item() for k in w0)
    assert moved > 1e-3 and diff < moved / 100, (diff, moved)  # summed gradients would move about twice as far
    with open(tmp_path / "train_log.csv", newline="") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 2, 3, 4]  # only rank 0 wrote


def _step_worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from s2sbench.train import distributed

    distributed.init()
    w, unused = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(1))
    opt = distributed.averaging({"net": torch.optim.SGD([w, unused], lr=1.0)})["net"]
    sched = torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)  # a scheduler made by the model still works
    w.grad = torch.full((3,), float(rank + 1))  # rank 0: 1, rank 1: 2 -> mean 1.5; `unused` has no gradient
    opt.step()  # what a model calls: no helper, no wrapper object
    sched.step()
    torch.save({"w": w.detach(), "unused": unused.detach(), "grad_none": unused.grad is None,
                "lr": opt.param_groups[0]["lr"]}, os.path.join(out, f"step{rank}.pt"))
    distributed.shutdown()


def test_a_plain_optimizer_step_averages_gradients_over_two_ranks(tmp_path):
    mp.spawn(_step_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    for r in (0, 1):
        got = torch.load(tmp_path / f"step{r}.pt", weights_only=True)
        assert torch.equal(got["w"], torch.full((3,), -1.5)), got  # SGD lr 1 on the averaged gradient 1.5
        assert got["grad_none"] and torch.equal(got["unused"], torch.zeros(1)) and got["lr"] == 0.5


def torchrun(scenario: str, data: Path, out: Path) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "S2SBENCH_DIST_TIMEOUT_S": "120"}
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                        str(REPO / "tests" / "_dist_worker.py"), scenario, str(data), str(out)],
                       capture_output=True, text=True, env=env, timeout=300)
    return p, time.perf_counter() - t0


def losses(run_dir: Path) -> dict[int, float]:
    with open(run_dir / "train_log.csv", newline="") as f:
        return {int(r["step"]): float(r["loss"]) for r in csv.DictReader(f)}


@pytest.mark.slow
def test_torchrun_resume_equals_uninterrupted_and_errors_reach_every_rank(data, tmp_path):
    p, _ = torchrun("resume", data, tmp_path)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    seen = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    for s in seen:  # a NaN on rank 1 only stops both ranks (the flag all-reduce), naming the step
        assert s["nan"].startswith("TrainingError: step 3: non-finite loss on rank 1;"), s
        assert s["resumed_from"] == "2"
    assert losses(tmp_path / "cut") == losses(tmp_path / "full")  # resume under torchrun: the same losses
    for r in (0, 1):
        a, b = (torch.load(tmp_path / f"{k}-rank{r}.pt", weights_only=True) for k in ("full", "cut"))
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert seen[0]["val"] == "ValueError: validation exploded on rank 0"
    assert seen[1]["val"].startswith("DistributedError: rank 0 failed") and "validation exploded" in seen[1]["val"]
    assert seen[0]["data"].startswith("InputError") and "--data does not exist" in seen[0]["data"]
    assert seen[1]["data"].startswith("DistributedError: rank 0 failed") and "--data does not exist" in seen[1]["data"]
    assert seen[0]["run"] == "world 2 clips 2" and seen[1]["run"] == "none"  # rank 0 alone evaluates


@pytest.mark.slow
def test_torchrun_an_exception_in_a_training_step_ends_every_rank_quickly(data, tmp_path):
    p, took = torchrun("fail_step", data, tmp_path)
    assert p.returncode != 0
    assert "failure injected at step 2 on rank 1" in p.stdout + p.stderr
    assert took < 60, took
