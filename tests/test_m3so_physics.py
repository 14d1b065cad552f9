"""M3SO physics from the clips' frames and meta: canvas bounds, bounces exactly where the velocity turns, the block's
timing and placement, and the digit never inside the block."""
import numpy as np
import pytest

from s2sbench.generators.m3so import generate_clips
from s2sbench.generators.mnist import load_digits

N = 120
LIMIT = 20  # 48 - 28


@pytest.fixture(scope="module", params=[("m3so", "paper", 24), ("m3so", "merl", 24), ("m3so", "paper", 10),
                                        ("nb", "paper", 24), ("nb", "merl", 24)],
                ids=lambda p: "-".join(map(str, p)))
def clips(request):
    variant, law, block = request.param
    return variant, law, generate_clips("test", 0, N, variant=variant, law=law, seed=11, block_size=block)


def digit_of(clip):
    d = load_digits("test")
    k = int(np.flatnonzero(d.index == clip.meta["mnist_index"])[0])
    assert d.labels[k] == clip.meta["label"]
    return d.images[k]


def ink_box(img):
    ys, xs = np.nonzero(img)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])


def contact_interval(clip, img):
    """Top-left positions (lo, hi) along x and y at which the ink box touches the block (open interval overlaps)."""
    box, ink = np.array(clip.meta["block"]["box"]), ink_box(img)
    return box[:2] - ink[2:], box[2:] - ink[:2]


def test_frames_are_the_digit_at_its_positions_plus_the_block(clips):
    variant, law, cs = clips
    for c in cs:
        img, T = digit_of(c), len(c.frames)
        expect = np.zeros((T, 48, 48), np.uint8)
        for t, (x, y) in enumerate(c.meta["positions"]):
            assert 0 <= x <= LIMIT and 0 <= y <= LIMIT
            expect[t, y:y + 28, x:x + 28] = img
        if variant == "m3so":
            x0, y0, x1, y1 = c.meta["block"]["box"]
            assert c.meta["block"]["first_frame"] == 41 and x1 - x0 == y1 - y0 in (10, 24)
            assert 0 <= x0 and x1 <= 48 and 0 <= y0 and y1 <= 48
            expect[41:, y0:y1, x0:x1] = 255
        else:
            assert c.meta["block"] is None and all(kind == "wall" for _, kind in c.meta["bounces"])
        assert np.array_equal(c.frames[..., 0], expect), c.id
        assert c.meta["law"] == law and len(c.meta["positions"]) == T == (70 if variant == "m3so" else 25)


def test_velocity_is_constant_between_bounces_and_turns_at_each(clips):
    variant, law, cs = clips
    turned = reflected = 0
    for c in cs:
        P = np.array(c.meta["positions"])
        T = len(P)
        S = {t: P[t] - P[t - 1] for t in range(1, T)}  # the step into frame t
        walls = {t for t, k in c.meta["bounces"] if k == "wall"}
        blocks = {t for t, k in c.meta["bounces"] if k == "block"}
        B = walls | blocks
        if variant == "m3so":
            lo, hi = contact_interval(c, digit_of(c))
        for t in range(1, T):
            if t not in B:
                # a whole step: speed 2..6 px/frame, each component rounded (off by <= 0.5)
                assert np.sqrt(2) <= np.hypot(*S[t]) <= 6 + np.sqrt(0.5), (c.id, t)
            if t < T - 1 and t not in B and t + 1 not in B:
                assert np.array_equal(S[t + 1], S[t]), (c.id, t)
            for a in (0, 1):  # reaching a wall, or a block face, while moving towards it is a bounce
                if (P[t, a] == 0 and S[t][a] < 0) or (P[t, a] == LIMIT and S[t][a] > 0):
                    assert t in walls or t in blocks, (c.id, t)
                if variant == "m3so" and t > 41 and lo[1 - a] < P[t, 1 - a] < hi[1 - a] and \
                        ((P[t, a] == lo[a] and S[t][a] > 0) or (P[t, a] == hi[a] and S[t][a] < 0)):
                    assert t in blocks, (c.id, t)
            if t in B and t < T - 1 and t + 1 not in B:
                nxt = S[t + 1]
                wall_away = [(P[t, a] == 0 and nxt[a] > 0) or (P[t, a] == LIMIT and nxt[a] < 0) for a in (0, 1)]
                if t in walls:
                    assert any(wall_away), (c.id, t)
                if t in blocks:
                    assert any((P[t, a] == lo[a] and nxt[a] < 0) or (P[t, a] == hi[a] and nxt[a] > 0)
                               for a in (0, 1)), (c.id, t)
                if t - 1 >= 1 and t - 1 not in B:  # the velocity before the bounce is S[t - 1]
                    turned += 1
                    reflected += bool(np.array_equal(np.abs(nxt), np.abs(S[t - 1])))
                    if law == "merl":
                        assert np.array_equal(np.abs(nxt), np.abs(S[t - 1])) and not np.array_equal(nxt, S[t - 1])
    assert turned > 100
    if law == "paper":  # a random new direction, not a reflection
        assert reflected < 0.5 * turned


def test_block_appears_at_frame_42_never_overlaps_the_digit_and_is_bounced_off(clips):
    variant, law, cs = clips
    if variant == "nb":
        assert all(c.meta["block"] is None for c in cs)
        return
    block_bounces, boxes = 0, set()
    for c in cs:
        img = digit_of(c)
        ink = ink_box(img)
        x0, y0, x1, y1 = c.meta["block"]["box"]
        boxes.add((x0, y0))
        assert not (c.frames[40, y0:y1, x0:x1] == 255).all() and (c.frames[41:, y0:y1, x0:x1] == 255).all()
        for t, (x, y) in enumerate(c.meta["positions"][41:], start=41):
            overlap = x + ink[0] < x1 and x + ink[2] > x0 and y + ink[1] < y1 and y + ink[3] > y0
            assert not overlap, (c.id, t)
        block_bounces += sum(k == "block" for t, k in c.meta["bounces"])
        assert all(t >= 42 for t, k in c.meta["bounces"] if k == "block")
    assert block_bounces > N // 2 and len(boxes) > N // 4


def test_a_block_with_no_free_place_redraws_the_motion_from_the_clips_own_stream_and_keeps_the_digit():
    from s2sbench.generators.m3so import SPLIT_CODES
    from s2sbench.generators.m3so_physics import draw, simulate

    digits = load_digits("test")
    d = draw(11, SPLIT_CODES["test"], range(N), 70)
    pick = np.minimum((d.digit_u * len(digits)).astype(np.int64), len(digits) - 1)
    first = simulate(d, digits.ink[pick], 70, "paper", 24)
    redrawn = np.flatnonzero(~first.placed)
    assert 0.2 * N < len(redrawn) < 0.9 * N  # a 24 px block often has no place beside a 28 px digit
    cs = generate_clips("test", 0, N, seed=11, block_size=24)
    kept = np.flatnonzero(first.placed)
    for i in kept[:5]:  # a first draw that places the block is kept as it is
        assert cs[i].meta["positions"] == first.positions[i].tolist()
    for i in redrawn[:5]:  # a redrawn clip: same digit, other motion, the same as made alone
        assert cs[i].meta["mnist_index"] == int(digits.index[pick[i]])
        assert cs[i].meta["positions"] != first.positions[i].tolist()
        alone = generate_clips("test", int(i), 1, seed=11, block_size=24)[0]
        assert np.array_equal(alone.frames, cs[i].frames) and alone.meta == cs[i].meta


def test_a_block_that_never_fits_is_one_error_naming_the_size():
    from s2sbench.errors import ConfigError

    with pytest.raises(ConfigError, match="32 px block found no place"):
        generate_clips("test", 0, 4, seed=11, block_size=32)
    with pytest.raises(ConfigError, match="block size must be"):
        generate_clips("test", 0, 4, block_size=0)
