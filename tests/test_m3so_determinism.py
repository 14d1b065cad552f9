"""Determinism: per-clip random streams, identical clips in any batch, byte-identical shards for any worker count,
different data for different seeds; and the vectorised generator equals the per-frame reference."""
import numpy as np
import pytest

from s2sbench.errors import ConfigError
from s2sbench.generators.counter_rng import uniforms
from s2sbench.generators.m3so import generate_clips, make_m3so, shard_buffers
from s2sbench.generators.m3so_physics import N_SCALARS, draw
from s2sbench.generators.m3so_reference import reference_clip
from s2sbench.generators.mnist import load_digits


def same(a, b):
    return a.id == b.id and a.meta == b.meta and np.array_equal(a.frames, b.frames) and \
        np.array_equal(a.audio, b.audio)


def test_clip_i_uses_its_own_stream():
    d = draw(7, 2, [5, 9], 70)
    for row, i in enumerate([5, 9]):
        u = uniforms(7, 2, [i], N_SCALARS + 70)[0]
        assert d.digit_u[row] == u[0] and d.block_u[row] == u[4] and np.array_equal(d.bounce_u[row], u[N_SCALARS:])


def test_a_clip_does_not_depend_on_its_batch():
    whole = generate_clips("train", 0, 12, seed=3)
    part = generate_clips("train", 5, 4, seed=3)
    assert all(same(a, b) for a, b in zip(whole[5:9], part))
    again = generate_clips("train", 5, 4, seed=3)
    assert all(same(a, b) for a, b in zip(part, again))


def test_reused_buffers_give_the_same_clips():
    fresh = generate_clips("test", 0, 6, seed=5)
    out = shard_buffers(6, 70)
    out[0].fill(7)
    assert all(same(a, b) for a, b in zip(fresh, generate_clips("test", 0, 6, seed=5, out=out)))
    with pytest.raises(ConfigError, match="do not fit 5 clips of 70 frames"):
        generate_clips("test", 0, 5, out=out)
    shard_buffers.cache_clear()


def test_seeds_and_splits_give_different_clips():
    a = generate_clips("train", 0, 5, seed=0)
    b = generate_clips("train", 0, 5, seed=1)
    c = generate_clips("val", 0, 5, seed=0)
    for x, y, z in zip(a, b, c):
        assert x.meta["positions"] != y.meta["positions"] and x.meta["positions"] != z.meta["positions"]


@pytest.mark.parametrize("variant, law", [("m3so", "paper"), ("m3so", "merl"), ("nb", "paper"), ("nb", "merl")])
def test_vectorised_generator_equals_the_per_frame_reference(variant, law):
    digits = load_digits("val")
    fast = generate_clips("val", 0, 40, variant=variant, law=law, seed=2)
    for i, c in enumerate(fast):
        slow = reference_clip("val", i, digits, variant=variant, law=law, seed=2)
        assert c.id == slow.id and c.meta == slow.meta and np.array_equal(c.frames, slow.frames)
        assert np.abs(c.audio - slow.audio).max() < 1e-6


def test_shards_are_byte_identical_for_any_worker_count(tmp_path):
    kw = dict(variant="nb", n=24, n_val=3, n_test=5, clips_per_shard=7, progress=False)
    one = make_m3so(tmp_path / "w1", workers=1, **kw)
    two = make_m3so(tmp_path / "w2", workers=2, **kw)
    assert [r.sha256 for r in one.shards] == [r.sha256 for r in two.shards]
    assert one.digest() == two.digest() and len(one.shards) == 4 + 1 + 1
    other = make_m3so(tmp_path / "s1", workers=2, seed=1, **kw)
    assert not {r.sha256 for r in other.shards} & {r.sha256 for r in one.shards}
    again = make_m3so(tmp_path / "w1", workers=2, overwrite=True, **kw)  # regenerated in place: same bytes
    assert again.digest() == one.digest()
