"""Device paths that CPU tests can execute (issue #14): checkpoints read onto the CPU with CPU RNG states, the
backward pass outside autocast, the bf16-exact clamp, the CPU-only matrix-product convolutions; and the CUDA
checks of the ``gpu`` marker (skipped with a reason where CUDA is absent)."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from s2sbench.baselines._conv import UnitClamp
from s2sbench.baselines._fastconv import FastConv2d, conv_transpose
from s2sbench.data.handle import Data
from s2sbench.eval.validation import val_scores
from s2sbench.models import DataSpec, build_model
from s2sbench.testing import write_fake_dataset
from s2sbench.train.checkpoint import load_checkpoint
from s2sbench.train.state import read_last, rng_state, set_rng_state
from s2sbench.train.trainer import TrainConfig, autocast, fit

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("fake-nb")
    write_fake_dataset(root, "m3so-nb", {"train": 16, "val": 4, "test": 4})
    return Data.open(root, "m3so-nb")


def tiny(seed: int = 0):
    torch.manual_seed(seed)
    return build_model("testing_tiny", DataSpec.for_dataset("m3so-nb"))


def test_last_checkpoint_reads_onto_the_cpu_with_byte_rng_states_that_restore_exactly(data, tmp_path):
    fit(tiny(), data, tmp_path, TrainConfig(steps=2, batch_size=4, val_every=2, val_batches=1, checkpoint_every=2),
        val_score=val_scores, device="cpu", progress=False)
    ck = read_last(tmp_path / "last.pt")
    (state,) = ck["rng"]
    assert state["torch"].dtype == torch.uint8 and state["torch"].device.type == "cpu"
    assert all(t.device.type == "cpu" for t in ck["state_dict"].values())
    torch.manual_seed(123)
    np.random.seed(4)
    random.seed(5)
    snap = rng_state()
    want = (torch.rand(3), np.random.rand(), random.random())
    moved = {**snap, "torch": snap["torch"].to(torch.int64)}  # any dtype that holds the bytes is accepted
    set_rng_state(moved)
    assert torch.equal(torch.rand(3), want[0]) and np.random.rand() == want[1] and random.random() == want[2]
    net, _ = load_checkpoint(tmp_path / "best.pt", map_location="cpu")
    assert next(net.parameters()).device.type == "cpu"


def test_compiled_submodules_train_like_eager(data, tmp_path):
    cfg = TrainConfig(steps=2, batch_size=4, val_batches=0, checkpoint_every=2)
    s = fit(tiny(), data, tmp_path / "c", TrainConfig(**{**cfg.__dict__, "compile": "aot_eager"}), device="cpu",
            progress=False)
    fit(tiny(), data, tmp_path / "e", cfg, device="cpu", progress=False)
    assert s["compile"] == "aot_eager"
    a, b = (read_last(tmp_path / d / "last.pt")["state_dict"] for d in ("c", "e"))
    assert set(a) == set(b) and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)  # same keys: no _orig_mod


def test_loader_workers_default_to_none_on_the_cpu_and_several_on_cuda(monkeypatch):
    from s2sbench.train.trainer import auto_workers

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert auto_workers(-1, torch.device("cpu"), 1) == 0 and auto_workers(3, torch.device("cpu"), 1) == 3
    assert auto_workers(-1, torch.device("cuda", 0), 1) == 8 and auto_workers(-1, torch.device("cuda", 0), 4) == 3


def test_backward_runs_outside_the_autocast_region_of_the_forward():
    model = tiny()
    seen = []
    model.net[0].weight.register_hook(lambda g: seen.append(torch.is_autocast_enabled("cpu")))
    batch = torch.rand(2, 4, 1, 64, 64)
    with autocast(torch.device("cpu"), True):  # the trainer's context, here on the CPU
        assert model.net(torch.rand(1, 2, 8, 8)).dtype == torch.bfloat16
        loss = model.net(batch[:, 0].repeat(1, 2, 1, 1)).float().mean()
        model.backward(loss)
    assert seen == [False]


def test_unit_clamp_is_exact_in_bf16_and_passes_the_gradient_straight_through():
    x = (torch.randn(20_000) * 100).to(torch.bfloat16).requires_grad_()
    y = UnitClamp()(x)
    assert torch.equal(y, x.detach().clamp(0, 1))  # the old x + (clamp(x) - x) missed on about 0.5% of these
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_matrix_product_convolutions_are_cpu_only(monkeypatch):
    conv = FastConv2d(8, 4, 4)  # over a whole 4x4 map: the F.linear form on the CPU
    ct = nn.ConvTranspose2d(8, 1, 4, 2, 1)
    calls = []
    monkeypatch.setattr("s2sbench.baselines._fastconv.F.linear", lambda *a: calls.append(1) or torch.zeros(1))
    monkeypatch.setattr("s2sbench.baselines._fastconv.F.fold", lambda *a, **k: calls.append(1) or torch.zeros(1))
    meta = torch.empty(2, 8, 4, 4, device="meta")  # a non-CPU device: the nn forms (cuDNN on CUDA)
    on_meta = FastConv2d(8, 4, 4, device="meta")
    assert on_meta(meta).shape == (2, 4, 1, 1) and not calls
    assert conv_transpose(meta, ct.weight.to("meta"), None, ct).shape == (2, 1, 8, 8) and not calls
    with pytest.raises(IndexError):  # the stub's output, proof that the CPU took the F.linear form
        conv(torch.rand(2, 8, 4, 4))
    assert calls  # the CPU still takes the matrix-product form


# ---- CUDA (pytest -m gpu; benchmarks/gpu_check.sh runs these) -------------------------------------------------
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (run benchmarks/gpu_check.sh on a GPU)")


def _models():
    from s2sbench.models import MODELS

    return [m for m in MODELS.keys() if m != "testing_tiny"]


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("name", _models())
def test_gpu_one_bf16_training_step_and_sampling_per_model(name, data):
    from s2sbench.data.loader import collate
    from s2sbench.models import MODELS

    spec = DataSpec.for_dataset("m3so-nb")
    net = build_model(name, spec, MODELS.get(name).Config.tiny()).cuda()
    ds = data.clips("train", spec.n_past + spec.n_future, spec.audio_feature)
    batch = collate([ds[i] for i in range(4)]).to("cuda", non_blocking=True)
    opts = net.configure_optimizers()
    before = [p.detach().clone() for p in net.parameters()]
    with autocast(torch.device("cuda"), True):
        logs = net.training_step(batch, opts, 0)
    assert np.isfinite(float(logs["loss"]))
    if before:
        assert any(not torch.equal(a, p) for a, p in zip(before, net.parameters())), "no parameter changed"
    with torch.no_grad():
        s = net.sample(batch.video[:, : spec.n_past], batch.audio, 6, 3)
    assert s.shape == (4, s.shape[1], 6, spec.channels, spec.height, spec.width) and s.shape[1] in (1, 3)
    assert s.device.type == "cuda" and torch.isfinite(s).all() and s.min() >= 0 and s.max() <= 1


@pytest.mark.gpu
@cuda
def test_gpu_resume_equals_uninterrupted_and_checkpoints_move_between_devices(data, tmp_path, monkeypatch):
    import csv

    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)  # cuDNN's default weight-gradient sums vary

    cfg = TrainConfig(steps=6, batch_size=4, val_every=3, val_batches=1, checkpoint_every=3)
    fit(tiny(), data, tmp_path / "full", cfg, val_score=val_scores, device="cuda", progress=False)
    fit(tiny(), data, tmp_path / "cut", TrainConfig(**{**cfg.__dict__, "steps": 3}), val_score=val_scores,
        device="cuda", progress=False)
    fit(tiny(seed=9), data, tmp_path / "cut", cfg, val_score=val_scores, device="cuda", resume=True, progress=False)

    def losses(d):
        with open(d / "train_log.csv", newline="") as f:
            return [float(r["loss"]) for r in csv.DictReader(f)]
    assert losses(tmp_path / "cut") == pytest.approx(losses(tmp_path / "full"), rel=1e-6)
    ck = read_last(tmp_path / "full" / "last.pt")
    assert ck["rng"][0]["cuda"] and ck["rng"][0]["cuda"][0].device.type == "cpu"
    net, _ = load_checkpoint(tmp_path / "full" / "best.pt", map_location="cpu")  # saved on CUDA, read on the CPU
    back, _ = load_checkpoint(tmp_path / "full" / "best.pt", map_location="cuda")
    assert all(torch.equal(a, b.cpu()) for a, b in zip(net.state_dict().values(), back.state_dict().values()))


@pytest.mark.gpu
@cuda
def test_gpu_metrics_equal_the_cpu():
    from s2sbench.eval.metrics import METRICS

    g = torch.Generator().manual_seed(0)
    pred, target = torch.rand(3, 4, 5, 3, 64, 64, generator=g), torch.rand(3, 5, 3, 64, 64, generator=g)
    for name in METRICS.keys():
        m = METRICS.get(name)
        a, b = m.per_frame(pred, target), m.per_frame(pred.cuda(), target.cuda()).cpu()
        assert torch.allclose(a.double(), b.double(), atol=1e-5, rtol=0), name
    from s2sbench.report.results import hardware

    hw = hardware("cuda", 2)  # what a 2-process torchrun records
    assert hw["gpu_count"] == 2 and hw["gpus_visible"] == torch.cuda.device_count() and hw["cuda"]
