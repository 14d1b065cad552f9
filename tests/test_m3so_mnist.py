"""Digit sources: the embedded 4000/500/500 split, IDX files (--mnist) and fetch-mnist against a local server."""
import functools
import gzip
import hashlib
import http.server
import struct
import threading

import numpy as np
import pytest

from s2sbench.errors import InputError
from s2sbench.generators.m3so import generate_clips, make_m3so
from s2sbench.generators.mnist import embedded_digits, ink_boxes, read_idx
from s2sbench.generators.mnist_fetch import fetch_mnist


def test_embedded_split_is_disjoint_and_balanced():
    parts = {s: embedded_digits(s) for s in ("train", "val", "test")}
    assert {s: len(p) for s, p in parts.items()} == {"train": 4000, "val": 500, "test": 500}
    sets = [set(p.index.tolist()) for p in parts.values()]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    for p in parts.values():
        assert (np.bincount(p.labels) == len(p) // 10).all()
        assert p.images.shape[1:] == (28, 28) and p.images.dtype == np.uint8 and p.images.max() == 255


def test_ink_boxes():
    img = np.zeros((2, 28, 28), np.uint8)
    img[0, 5:9, 3:20] = 1
    assert ink_boxes(img).tolist() == [[3, 5, 20, 9], [0, 0, 28, 28]]  # a blank image gets the full box


def write_idx(path, array):
    head = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = head + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data, 1) if path.suffix == ".gz" else data)


@pytest.fixture(scope="module")
def idx_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("mnist")
    emb = embedded_digits("train")
    n_train = 55_010
    write_idx(d / "train-images-idx3-ubyte", np.resize(emb.images, (n_train, 28, 28)))
    write_idx(d / "train-labels-idx1-ubyte", np.resize(emb.labels, n_train))
    write_idx(d / "t10k-images-idx3-ubyte.gz", emb.images[:50])
    write_idx(d / "t10k-labels-idx1-ubyte.gz", emb.labels[:50])
    return d


def test_make_m3so_from_idx_files(idx_dir, tmp_path):
    index = make_m3so(tmp_path, variant="nb", n=6, n_val=3, n_test=3, workers=1, mnist=idx_dir, progress=False)
    assert index.source["digits"]["source"] == "mnist-idx" and index.source["digits"]["pool_sizes"] == \
        {"train": 55_000, "val": 10, "test": 50}
    images = read_idx(idx_dir / "train-images-idx3-ubyte")
    for split, ok in (("train", lambda i: i < 55_000), ("val", lambda i: i >= 55_000), ("test", lambda i: i < 50)):
        for c in generate_clips(split, 0, 3, variant="nb", mnist=idx_dir):
            i = c.meta["mnist_index"]
            assert ok(i)
            x, y = c.meta["positions"][0]
            source = images if split != "test" else read_idx(idx_dir / "t10k-images-idx3-ubyte.gz")
            assert np.array_equal(c.frames[0, y:y + 28, x:x + 28, 0], source[i])


def test_bad_idx_files_name_the_file(idx_dir, tmp_path):
    with pytest.raises(InputError, match="t10k-images-idx3-ubyte.gz: MNIST file missing .*fetch-mnist"):
        generate_clips("test", 0, 1, mnist=tmp_path)
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes((idx_dir / "train-images-idx3-ubyte").read_bytes()[:5000])
    with pytest.raises(InputError, match=f"{bad}: header says .*truncated"):
        read_idx(bad)
    bad.write_bytes(b"\x00\x00\x0d\x03" + bytes(20))
    with pytest.raises(InputError, match="not an unsigned-byte IDX file"):
        read_idx(bad)


@pytest.fixture()
def server(tmp_path):
    root = tmp_path / "www"
    (root / "good").mkdir(parents=True)
    (root / "bad").mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_tries_mirrors_and_checks_sha256(server, tmp_path):
    root, url = server
    payload = gzip.compress(b"idx bytes")
    (root / "good" / "a.gz").write_bytes(payload)
    (root / "bad" / "a.gz").write_bytes(payload + b"junk")
    archives = {"a.gz": (len(payload), hashlib.sha256(payload).hexdigest())}
    dest = tmp_path / "dest"
    with pytest.raises(InputError, match="could not fetch a copy with sha256") as e:
        fetch_mnist(dest, [f"{url}/bad/", f"{url}/missing/"], archives=archives, progress=False)
    assert "does not match the published" in str(e.value) and "404" in str(e.value)
    assert list(dest.iterdir()) == []  # nothing left under the final name, no partial file
    paths = fetch_mnist(dest, [f"{url}/missing/", f"{url}/bad/", f"{url}/good/"], archives=archives, progress=False)
    assert paths == [dest / "a.gz"] and paths[0].read_bytes() == payload and len(list(dest.iterdir())) == 1
    assert fetch_mnist(dest, ["http://127.0.0.1:9/"], archives=archives, progress=False) == paths  # already there
