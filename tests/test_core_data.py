"""ClipDataset and make_loader: items, clip(), shorter training windows, two loader workers."""
import numpy as np
import pytest
import torch

from s2sbench.data.loader import Batch, ClipDataset, make_loader
from s2sbench.data.shards import ShardError
from s2sbench.generators.m3so import make_m3so


@pytest.fixture(scope="module")
def nb(tmp_path_factory):
    root = tmp_path_factory.mktemp("nb")
    make_m3so(root, variant="nb", n=12, n_val=2, n_test=6, clips_per_shard=5, workers=1, progress=False)
    return root


def test_items_and_clip(nb):
    ds = ClipDataset(nb, "train")
    assert len(ds) == 12 and ds.spec.num_frames == 25
    item = ds[7]
    assert item["video"].shape == (25, 1, 48, 48) and item["audio"].shape == (25, 23 * 21)
    assert 0.0 <= float(item["video"].min()) and float(item["video"].max()) <= 1.0
    clip = ds.clip(7)
    assert clip.id == item["id"] == "m3so-nb/train/000007"
    assert torch.equal(item["video"], torch.from_numpy(clip.frames).permute(0, 3, 1, 2).float() / 255)
    assert ClipDataset(nb, "train", num_frames=20, audio_features="raw")[0]["audio"].shape == (20, 440)


def test_unknown_split_names_the_index(nb):
    with pytest.raises(ShardError, match="no split 'dev' .*splits: test, train, val"):
        ClipDataset(nb, "dev")


def test_loader_with_two_workers_sees_every_clip_once(nb):
    ds = ClipDataset(nb, "train", num_frames=20)
    seen = []
    for b in make_loader(ds, batch_size=4, shuffle=True, num_workers=2, seed=1):
        assert isinstance(b, Batch) and b.video.shape[1:] == (20, 1, 48, 48) and b.audio.shape[1:] == (20, 483)
        seen += b.index.tolist()
        for i, cid in zip(b.index.tolist(), b.ids):
            assert cid == f"m3so-nb/train/{i:06d}"
    assert sorted(seen) == list(range(12))
    first = next(iter(make_loader(ds, batch_size=12, num_workers=0)))
    assert np.allclose(first.video[3].numpy(), ds[3]["video"].numpy())
