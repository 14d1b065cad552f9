"""The model contract, checked for EVERY registered model (read from ``MODELS.keys()``) with its tiny config on a
48x48x1 and a 64x64x3 data spec: one training step updates the weights with finite logs, ``sample`` returns
(B, S, n_future, C, H, W) in [0, 1], and a state-dict checkpoint rebuilds the same model."""
from __future__ import annotations

import math

import pytest
import torch

from s2sbench.data.loader import Batch
from s2sbench.models import MODELS, DataSpec, build_model
from s2sbench.train.checkpoint import load_checkpoint, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")  # small torch ops stall with 2 threads under load

SPECS = {
    "48x48x1": DataSpec(1, 48, 48, 483, (23, 21), n_past=3, n_future=4),
    "64x64x3": DataSpec(3, 64, 64, 765, (45, 17), n_past=3, n_future=4, fps=30),
}


def make_batch(spec: DataSpec, batch: int = 2, frames: int | None = None) -> Batch:
    T = frames or spec.n_past + spec.n_future
    g = torch.Generator().manual_seed(1)
    return Batch(torch.rand(batch, T, spec.channels, spec.height, spec.width, generator=g),
                 torch.randn(batch, T, spec.audio_dim, generator=g), torch.arange(batch),
                 [f"clip{i}" for i in range(batch)])


@pytest.fixture(scope="module")
def train_roots(tmp_path_factory):
    """A few fake training clips per data spec, for the ``prepare`` of models with ``trainable = False``."""
    from s2sbench.data.handle import Data
    from s2sbench.testing import write_fake_dataset

    roots = {}
    for spec_id, dataset in (("48x48x1", "m3so-nb"), ("64x64x3", "audioset-drums")):
        roots[spec_id] = tmp_path_factory.mktemp(spec_id)
        write_fake_dataset(roots[spec_id], dataset, sizes={"train": 3})
        roots[spec_id] = Data.open(roots[spec_id], dataset)
    return roots


@pytest.mark.parametrize("spec_id", SPECS)
@pytest.mark.parametrize("name", MODELS.keys())
def test_train_step_and_sample(name: str, spec_id: str, train_roots) -> None:
    torch.manual_seed(0)
    spec = SPECS[spec_id]
    cls = MODELS.get(name)
    model = build_model(name, spec, cls.Config.tiny())
    assert model.name == name
    opt = model.configure_optimizers()
    model.setup_training(10)
    model.train()
    before = [p.detach().clone() for p in model.parameters()]
    batch = make_batch(spec)
    if not cls.trainable:  # the trainer never steps it: prepare() on the training split instead
        assert cls.reference and not before and isinstance(model.prepare(train_roots[spec_id]), dict)
    else:
        logs = model.training_step(batch, opt, 0)
        assert "loss" in logs
        assert all(math.isfinite(v) for v in logs.values()), logs
    if before:
        changed = any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
        assert changed, "a training step changed no parameter"
    n_future, n_samples = 5, 3  # longer than in training, as at test time
    audio = torch.randn(2, spec.n_past + n_future, spec.audio_dim)
    out = model.sample(batch.video[:, : spec.n_past], audio, n_future, n_samples)
    assert out.shape == (2, n_samples, n_future, spec.channels, spec.height, spec.width)
    assert torch.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 1
    assert model.training, "sample() must restore the training mode"


@pytest.mark.parametrize("name", MODELS.keys())
def test_checkpoint_round_trip(name: str, tmp_path) -> None:
    spec = SPECS["48x48x1"]
    model = build_model(name, spec, MODELS.get(name).Config.tiny())
    path = save_checkpoint(tmp_path / f"{name}.pt", model)
    loaded, ckpt = load_checkpoint(path)
    assert ckpt["model"] == name and type(loaded) is type(model)
    assert loaded.config == model.config
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
