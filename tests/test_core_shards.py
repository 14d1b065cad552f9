"""Shard format: round trip, atomic writes, sha256 verification, truncated files, ShardWriter."""
import json
import os

import h5py
import numpy as np
import pytest

from s2sbench.data.clip import Clip, ClipSpec
from s2sbench.data.loader import ClipDataset
from s2sbench.data.shards import ShardError, ShardIndex, ShardWriter, open_shard, read_clips, sha256_file, write_shard
from s2sbench.errors import InputError

SPEC = ClipSpec(fps=10, sample_rate=400, num_frames=6, height=8, width=8, channels=1)


def make_clips(n, seed=0):
    rng = np.random.default_rng(seed)
    return [Clip(id=f"t/{i:03d}", frames=rng.integers(0, 256, SPEC.frame_shape, dtype=np.uint8),
                 audio=rng.uniform(-1, 1, SPEC.num_samples).astype(np.float32),
                 meta={"i": i, "path": [[i, i + 1]], "none": None}) for i in range(n)]


def make_dataset(root, n=10, per=4):
    with ShardWriter(root, SPEC, "train", clips_per_shard=per) as w:
        for c in make_clips(n):
            w.write(c)
    index = ShardIndex(SPEC, w.records, source={"test": True})
    index.save(root)
    return index


def test_round_trip(tmp_path):
    clips = make_clips(5)
    rec = write_shard(tmp_path / "train-00000.h5", SPEC, "train", clips)
    assert rec.n == 5 and rec.bytes == (tmp_path / "train-00000.h5").stat().st_size
    assert rec.sha256 == sha256_file(tmp_path / "train-00000.h5")
    with open_shard(tmp_path / "train-00000.h5") as f:
        back = read_clips(f, range(5))
    for a, b in zip(clips, back):
        assert a.id == b.id and a.meta == b.meta and np.array_equal(a.frames, b.frames)
        assert np.abs(a.audio - b.audio).max() <= 0.5 / 32767 + 1e-7


def test_same_clips_give_identical_bytes(tmp_path):
    a = write_shard(tmp_path / "a.h5", SPEC, "train", make_clips(3))
    b = write_shard(tmp_path / "b.h5", SPEC, "train", make_clips(3))
    assert a.sha256 == b.sha256


def test_failed_write_leaves_no_file(tmp_path):
    clips = make_clips(3)
    bad = Clip(id="bad", frames=clips[0].frames, audio=clips[0].audio, meta={"x": {1, 2}})  # not JSON
    with pytest.raises(TypeError):
        write_shard(tmp_path / "train-00000.h5", SPEC, "train", clips + [bad])
    assert os.listdir(tmp_path) == []
    with pytest.raises(InputError):
        write_shard(tmp_path / "train-00000.h5", SPEC, "train",
                    [Clip(id="short", frames=clips[0].frames, audio=clips[0].audio[:-1])])
    assert os.listdir(tmp_path) == []


def test_writer_shards_and_index(tmp_path):
    index = make_dataset(tmp_path, n=10, per=4)
    assert [r.n for r in index.shards] == [4, 4, 2] and index.splits() == {"train": 10}
    loaded = ShardIndex.load(tmp_path)
    assert loaded.digest() == index.digest() and loaded.verify(tmp_path) == []


def test_verify_catches_a_flipped_byte(tmp_path):
    index = make_dataset(tmp_path)
    path = tmp_path / index.shards[1].file
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    problems = index.verify(tmp_path)
    assert problems == [f"{path}: sha256 mismatch (file changed or corrupt)"]


def test_truncated_shard_gives_a_clear_error(tmp_path):
    index = make_dataset(tmp_path)
    path = tmp_path / index.shards[0].file
    os.truncate(path, path.stat().st_size // 2)
    with pytest.raises(ShardError, match=f"{path}: shard is .* bytes but index.json says"):
        ClipDataset(tmp_path, "train", audio_features="raw")[0]
    problems = index.verify(tmp_path)
    assert len(problems) == 1 and str(path) in problems[0] and "truncated" in problems[0]
    with pytest.raises(ShardError, match=f"{path}: not a readable HDF5 shard"):
        open_shard(path)


def test_missing_and_malformed_index(tmp_path):
    with pytest.raises(ShardError, match="no index.json here"):
        ShardIndex.load(tmp_path)
    (tmp_path / "index.json").write_text(json.dumps({"format_version": 1, "spec": {"fps": 1}}))
    with pytest.raises(ShardError, match="malformed index"):
        ShardIndex.load(tmp_path)


def test_shards_store_int16_audio_without_wrap(tmp_path):
    clip = make_clips(1)[0]
    loud = Clip(id="loud", frames=clip.frames, audio=np.full(SPEC.num_samples, 1.0, np.float32))
    write_shard(tmp_path / "x.h5", SPEC, "train", [loud])
    with h5py.File(tmp_path / "x.h5") as f:
        assert f["audio"].dtype == np.int16 and f["audio"][0].min() == 32767
