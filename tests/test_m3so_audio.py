"""M3SO audio: an FFT of every frame shows exactly the expected tone pair (digit, wall or block) at the amplitude
of the chosen law; the table and the laws themselves; storage without clipping or wrap."""
import numpy as np
import pytest

from s2sbench.data.loader import ClipDataset
from s2sbench.generators import m3so_audio
from s2sbench.generators.m3so import generate_clips, make_m3so

# The documented table (docs/datasets.md / m3so_audio docstring), written out independently of the code:
WALL_PAIR, BLOCK_PAIR = (900, 1200), (900, 1800)


def digit_pair(d):
    return (300 + 200 * (d // 4), 1200 + 200 * (d % 4))


def law_amplitude(x, y, law):
    d, d_max = np.hypot(x, y), 20 * np.sqrt(2)
    return d_max / 4 / (d_max / 4 + d) if law == "paper" else d / d_max


def expected(meta, t):
    kinds = {k for f, k in meta["bounces"] if f == t}
    return BLOCK_PAIR if "block" in kinds else WALL_PAIR if "wall" in kinds else digit_pair(meta["label"])


def check_clip(clip, law, atol):
    spectra = np.abs(np.fft.rfft(clip.audio.reshape(-1, 440).astype(np.float64), axis=1))  # bins 10 Hz apart
    for t, s in enumerate(spectra):
        f1, f2 = expected(clip.meta, t)
        assert tuple(clip.meta["tones"][t]) == (f1, f2)
        x, y = clip.meta["positions"][t]
        a = law_amplitude(x, y, law)
        assert abs(clip.meta["amplitude"][t] - a) < 1e-6
        if a < 0.02:  # merl law at the origin: (nearly) silent
            continue
        top = set(np.argsort(s)[-2:].tolist())
        assert top == {f1 // 10, f2 // 10}, (clip.id, t, top)
        peak = 0.5 * a * 440 / 2  # a sine of amplitude A/2 gives A/2 * N/2 in its bin
        assert abs(s[f1 // 10] - peak) < atol * 220 and abs(s[f2 // 10] - peak) < atol * 220
        rest = np.delete(s, [f1 // 10, f2 // 10])
        assert rest.max() < 1e-3 * peak


@pytest.mark.parametrize("variant, law", [("m3so", "paper"), ("m3so", "merl"), ("nb", "paper"), ("nb", "merl")])
def test_every_frame_sounds_exactly_the_expected_pair(variant, law):
    clips = generate_clips("val", 0, 40, variant=variant, law=law, seed=4)
    kinds = {k for c in clips for _, k in c.meta["bounces"]}
    assert kinds == ({"wall", "block"} if variant == "m3so" else {"wall"})
    for c in clips:
        assert np.abs(c.audio).max() <= 1.0
        check_clip(c, law, atol=1e-5)


def test_stored_audio_keeps_the_tones_and_never_wraps(tmp_path):
    make_m3so(tmp_path, variant="m3so", n=8, n_val=0, n_test=4, workers=1, progress=False)
    ds = ClipDataset(tmp_path, "test", audio_features="raw")
    memory = generate_clips("test", 0, 4, variant="m3so")
    for i in range(4):
        stored = ds.clip(i)
        assert np.abs(stored.audio - memory[i].audio).max() <= 0.5 / 32767 + 1e-7
        check_clip(stored, "paper", atol=1e-4)


def test_tone_table():
    pairs = [tuple(p) for p in m3so_audio.TONES.tolist()]
    assert pairs == [digit_pair(d) for d in range(10)] + [WALL_PAIR, BLOCK_PAIR]
    assert len(set(pairs)) == 12 and all(f1 != f2 for f1, f2 in pairs)
    tones = m3so_audio.TONES.ravel()
    assert (tones < 4400 / 2).all() and (tones % 100 == 0).all()  # below Nyquist, own 10 Hz and 100 Hz bins
    assert 900 not in {f for d in range(10) for f in digit_pair(d)}  # 900 Hz marks a bounce


def test_amplitude_laws():
    d = np.linspace(0, 20 * np.sqrt(2), 500)
    paper, merl = m3so_audio.amplitude(d, "paper"), m3so_audio.amplitude(d, "merl")
    assert paper[0] == 1.0 and (np.diff(paper) < 0).all() and (paper > 0).all() and paper.min() == pytest.approx(0.2)
    assert merl[0] == 0.0 and (np.diff(merl) > 0).all() and merl.max() == 1.0
    with pytest.raises(ValueError, match="unknown amplitude law"):
        m3so_audio.amplitude(d, "loud")
