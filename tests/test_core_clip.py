"""ClipSpec validation and Clip.check errors name the clip and the problem."""
import numpy as np
import pytest

from s2sbench.data.clip import Clip, ClipSpec
from s2sbench.errors import InputError

SPEC = ClipSpec(fps=10, sample_rate=4400, num_frames=5, height=8, width=6, channels=1)


def good(**kw):
    d = dict(id="c/1", frames=np.zeros(SPEC.frame_shape, np.uint8), audio=np.zeros(SPEC.num_samples, np.float32))
    d.update(kw)
    return Clip(**d)


def test_spec_derived_sizes_and_round_trip():
    assert SPEC.samples_per_frame == 440 and SPEC.num_samples == 2200 and SPEC.frame_shape == (5, 8, 6, 1)
    assert ClipSpec.from_dict(SPEC.to_dict()) == SPEC


@pytest.mark.parametrize("kw, msg", [(dict(fps=0), "fps must be a positive integer"),
                                     (dict(sample_rate=4401), "not divisible by fps"),
                                     (dict(height=2.5), "height must be a positive integer")])
def test_bad_spec(kw, msg):
    d = SPEC.to_dict() | kw
    with pytest.raises(ValueError, match=msg):
        ClipSpec(**d)


def test_spec_from_dict_rejects_unknown_and_missing_keys():
    with pytest.raises(ValueError, match=r"unknown keys \['depth'\], missing keys \['fps'\]"):
        ClipSpec.from_dict({k: v for k, v in SPEC.to_dict().items() if k != "fps"} | {"depth": 3})


@pytest.mark.parametrize("kw, msg", [
    (dict(frames=np.zeros(SPEC.frame_shape, np.float32)), "frames must be a uint8 array"),
    (dict(frames=np.zeros((5, 8, 6, 3), np.uint8)), r"frames have shape \(5, 8, 6, 3\), expected \(5, 8, 6, 1\)"),
    (dict(audio=np.zeros(SPEC.num_samples, np.float64)), "audio must be a float32 array"),
    (dict(audio=np.zeros(2199, np.float32)), r"audio has shape \(2199,\), expected \(2200,\)"),
    (dict(audio=np.full(SPEC.num_samples, 1.5, np.float32)), "within \\[-1, 1\\]"),
    (dict(audio=np.full(SPEC.num_samples, np.nan, np.float32)), "finite"),
    (dict(id=""), "non-empty string"),
])
def test_check_names_clip_and_problem(kw, msg):
    clip = good(**kw)
    with pytest.raises(InputError, match=msg) as e:
        clip.check(SPEC)
    assert f"clip {clip.id!r}" in str(e.value)


def test_check_passes_and_audio_frames_cut_per_frame():
    a = np.arange(SPEC.num_samples, dtype=np.float32) / SPEC.num_samples
    c = good(audio=a).check(SPEC)
    per = c.audio_frames(SPEC)
    assert per.shape == (5, 440) and per[2, 0] == a[880]
