"""``s2sbench fetch-mnist DIR``: download the four standard MNIST IDX archives and check their sha256.

The sizes and sha256 sums are the published values of the original archives (the same bytes are served by the
mirrors below; the values are widely pinned, e.g. by TensorFlow Datasets and torchvision's mirror list).
Files already present with the right checksum are kept; each download goes to a temporary name and is renamed
only once its checksum matches, so an interrupted or corrupt download never sits under the final name.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from s2sbench.errors import InputError
from s2sbench.safety.files import file_mode

MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
           "https://storage.googleapis.com/cvdf-datasets/mnist/",
           "http://yann.lecun.com/exdb/mnist/")

MNIST_ARCHIVES = {  # file name -> (bytes, sha256)
    "train-images-idx3-ubyte.gz": (9_912_422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train-labels-idx1-ubyte.gz": (28_881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "t10k-images-idx3-ubyte.gz": (1_648_877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "t10k-labels-idx1-ubyte.gz": (4_542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _download(url: str, dest: Path, size: int, sha: str, timeout: float, progress: bool) -> None:
    from tqdm import tqdm

    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp, \
                tqdm(total=size, unit="B", unit_scale=True, desc=dest.name, disable=not progress, leave=False) as bar:
            while block := resp.read(1 << 16):
                out.write(block)
                bar.update(len(block))
        got = _sha256(Path(tmp))
        if got != sha:
            raise InputError(f"{url}: sha256 {got} does not match the published {sha}")
        os.chmod(tmp, file_mode())  # mkstemp makes 0600; keep the umask's mode
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)


def fetch_mnist(dest: str | Path, mirrors: tuple[str, ...] | list[str] = MIRRORS, *, timeout: float = 60.0,
                progress: bool = True, archives: dict[str, tuple[int, str]] | None = None) -> list[Path]:
    """Make sure ``dest`` holds the four MNIST archives with their published checksums; return their paths.

    Each file is tried from every mirror in turn (``mirrors`` are base URLs ending in ``/``; ``file://`` works).
    Raises ``InputError`` naming the file and every mirror's failure if no mirror delivers the right bytes.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name, (size, sha) in (archives or MNIST_ARCHIVES).items():
        path = dest / name
        if path.is_file() and _sha256(path) == sha:
            out.append(path)
            continue
        errors = []
        for base in mirrors:
            url = base.rstrip("/") + "/" + name
            try:
                _download(url, path, size, sha, timeout, progress)
                break
            except urllib.error.HTTPError as e:
                errors.append(f"{url}: HTTP {e.code} {e.reason}")
            except urllib.error.URLError as e:
                errors.append(f"{url}: {e.reason}")
            except InputError as e:
                errors.append(str(e))
            except OSError as e:
                errors.append(f"{url}: {e}")
        else:
            raise InputError(f"{path}: could not fetch a copy with sha256 {sha} ({'; '.join(errors)})")
        out.append(path)
    return out
