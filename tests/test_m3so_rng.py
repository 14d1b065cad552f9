"""The counter-based generator of M3SO (``s2sbench.generators.counter_rng``): it is nested SplitMix64 (checked against
the published SplitMix64 outputs through a scalar, stateful re-implementation), deterministic, independent of the
batch, and its uniforms look uniform and independent across neighbouring indices, draws, seeds and splits
(tolerances from the sample size: |z| < 5 for means and correlations, chi-square beyond its 1e-6 quantile)."""
import numpy as np
import pytest
from scipy import stats

from s2sbench.generators.counter_rng import item_keys, uniforms

MASK = 2**64 - 1
GAMMA = 0x9E3779B97F4A7C15


class SplitMix64:
    """The textbook stateful generator in Python integers: state += gamma, then the finaliser."""

    def __init__(self, seed: int):
        self.state = seed & MASK

    def next(self) -> int:
        self.state = (self.state + GAMMA) & MASK
        return mix(self.state)


def mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def nth(seed: int, n: int) -> int:
    g = SplitMix64(seed)
    for _ in range(n):
        g.next()
    return g.next()


def test_scalar_splitmix64_matches_the_published_outputs():
    g = SplitMix64(1234567)  # Rosetta Code, "Pseudo-random numbers/Splitmix64"
    assert [g.next() for _ in range(5)] == [6457827717110365317, 3203168211198807973, 9817491932198370423,
                                            4593380528125082431, 16408922859458223821]


@pytest.mark.parametrize("seed, split, index", [(0, 0, 0), (7, 2, 5), (123456789, 1, 9999), (2**64 - 1, 2, 31)])
def test_uniforms_are_nested_splitmix64(seed, split, index):
    key = nth(nth(mix(seed), split), index)
    g = SplitMix64(key)
    want = [(g.next() >> 11) / 2**53 for _ in range(12)]
    assert int(item_keys(seed, split, [index])[0]) == key
    assert uniforms(seed, split, [index], 12)[0].tolist() == want


def test_deterministic_and_independent_of_the_batch():
    u = uniforms(3, 1, range(100, 300), 20)
    assert np.array_equal(u, uniforms(3, 1, range(100, 300), 20))
    assert np.array_equal(u[37], uniforms(3, 1, [137], 20)[0])
    assert np.array_equal(u[5:9, :7], uniforms(3, 1, [105, 106, 107, 108], 7))
    assert u.dtype == np.float64 and u.min() >= 0.0 and u.max() < 1.0


def test_bad_seed_is_refused():
    for seed in (-1, 2**64):
        with pytest.raises(ValueError, match="seed must be in"):
            uniforms(seed, 0, [0], 3)


def test_streams_of_neighbouring_seeds_splits_and_indices_are_distinct():
    keys = np.concatenate([item_keys(s, p, range(2000)) for s in range(5) for p in range(3)])
    assert len(np.unique(keys)) == len(keys)
    rows = np.concatenate([uniforms(s, p, range(50), 75) for s in range(3) for p in range(3)])
    assert len(np.unique(rows)) == rows.size  # no value repeats, so no two streams overlap or share a draw


def _z_mean(u):
    return (u.mean() - 0.5) / np.sqrt(1 / 12 / u.size)


def _corr_ok(a, b):
    r = np.corrcoef(a.ravel(), b.ravel())[0, 1]
    return abs(r) * np.sqrt(a.size) < 5  # sd of r under independence is 1/sqrt(n)


def _chi2_ok(counts):
    counts = counts.ravel()
    expected = counts.sum() / counts.size
    chi2 = ((counts - expected) ** 2 / expected).sum()
    return chi2 < stats.chi2.ppf(1 - 1e-6, counts.size - 1)


def test_uniformity_and_independence():
    u = uniforms(0, 0, range(4000), 64)  # 256,000 draws
    assert abs(_z_mean(u)) < 5
    assert _chi2_ok(np.histogram(u, bins=64, range=(0, 1))[0])
    low = (u * 2**53).astype(np.uint64) & np.uint64(0xFF)  # the lowest bits of the 53 are random too
    assert _chi2_ok(np.bincount(low.ravel().astype(np.int64), minlength=256))
    neighbours = {"index": (u[:-1], u[1:]), "draw": (u[:, :-1], u[:, 1:]),
                  "seed": (u, uniforms(1, 0, range(4000), 64)), "split": (u, uniforms(0, 1, range(4000), 64))}
    for what, (a, b) in neighbours.items():
        assert _corr_ok(a, b), what
        pairs = np.histogram2d(a.ravel(), b.ravel(), bins=16, range=[[0, 1], [0, 1]])[0]
        assert _chi2_ok(pairs), what
