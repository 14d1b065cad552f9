"""Audio features: shapes for M3SO (23 x 21 STFT patch) and real-video rates, STFT against torch.stft."""
import numpy as np
import pytest
import torch

from s2sbench.data.audio import AUDIO_FEATURES, audio_feature
from s2sbench.data.clip import ClipSpec
from s2sbench.data.datasets import DATASETS

M3SO = DATASETS.get("m3so").spec


@pytest.mark.parametrize("name, dim, patch", [("raw", 440, None), ("stft", 483, (23, 21)), ("mel", 672, (32, 21))])
def test_m3so_shapes(name, dim, patch):
    f = audio_feature(name, M3SO)
    x = np.random.default_rng(0).uniform(-1, 1, (7, 440)).astype(np.float32)
    y = f(x)
    assert f.dim == dim and f.patch == patch and y.shape == (7, dim) and y.dtype == np.float32
    assert set(AUDIO_FEATURES.keys()) >= {"raw", "stft", "mel"}


def test_real_video_rate_patch():
    spec = ClipSpec(fps=30, sample_rate=22050, num_frames=90, height=64, width=64, channels=3)
    assert audio_feature("stft", spec).patch == (45, 17)


def test_stft_matches_torch_stft():
    f = audio_feature("stft", M3SO)
    x = np.random.default_rng(1).uniform(-1, 1, (3, 440)).astype(np.float32)
    ref = torch.stft(torch.from_numpy(x).double(), n_fft=44, hop_length=22, window=torch.hann_window(44).double(),
                     center=True, pad_mode="reflect", return_complex=True).abs().numpy()  # (3, 23, 21)
    assert ref.shape == (3, 23, 21)
    np.testing.assert_allclose(f(x).reshape(3, 23, 21), ref, rtol=1e-4, atol=1e-4)


def test_stft_of_a_pure_tone_peaks_at_its_bin():
    n = np.arange(440) / 4400
    x = np.sin(2 * np.pi * 1200 * n).astype(np.float32)[None]  # 1200 Hz = bin 12 of 100 Hz bins
    patch = audio_feature("stft", M3SO)(x).reshape(23, 21)
    assert (patch[:, 5:16].argmax(0) == 12).all()
