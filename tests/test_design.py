"""The package's shape: one top-level package in the wheel, no import cycles between its modules, and imports that
only go down the layers (data flows one way)."""
from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The repository folders that install as packages (pyproject's package-dir).
FOLDERS = {"s2sbench": ROOT / "s2sbench", "s2sbench.generators": ROOT / "generators",
           "s2sbench.baselines": ROOT / "baselines"}


def _modules() -> dict[str, Path]:
    mods = {}
    for prefix, folder in FOLDERS.items():
        for f in folder.rglob("*.py"):
            rel = f.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if prefix == "s2sbench" and parts and parts[0] in ("generators", "baselines"):
                continue
            mods[".".join([prefix, *parts])] = f
    return mods


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the package that ``name`` imports at module level (``if TYPE_CHECKING:`` blocks count too: a
    type-only cycle is still two modules that each need the other; imports inside functions do not count)."""
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()

    def visit(nodes):
        for node in nodes:
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for h in getattr(node, "handlers", []):
                    visit(h.body)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name in known)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                for a in node.names:
                    if f"{base}.{a.name}" in known:
                        out.add(f"{base}.{a.name}")
                    elif base in known:
                        out.add(base)

    visit(ast.parse(path.read_text()).body)
    out.discard(name)
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    return comps


def test_no_import_cycles():
    mods = _modules()
    graph = {m: _imports(m, p, set(mods)) for m, p in mods.items()}
    assert sum(len(v) for v in graph.values()) > 100  # the scan really sees the imports
    assert _cycles(graph) == []


def test_cycle_finder_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# The package's layers: its modules, and the other layers it may import. Imports inside functions count (a lazy
# import is still a dependency); a module in no layer is an error. The data flows down this table.
_BASE = ["errors", "core"]
LAYERS = {
    "errors": (["s2sbench.errors"], []),
    "core": (["s2sbench", "s2sbench.registry", "s2sbench.config", "s2sbench.optional", "s2sbench.safety",
              "s2sbench.hostinfo"], ["errors"]),
    "media": (["s2sbench.media"], _BASE),  # ffmpeg, for download, eval and study alike
    "data": (["s2sbench.data"], _BASE),
    "download": (["s2sbench.download"], [*_BASE, "media", "data"]),
    "generators": (["s2sbench.generators"], [*_BASE, "media", "data", "download"]),  # sources of datasets
    "models": (["s2sbench.models", "s2sbench.predictor", "s2sbench.baselines", "s2sbench.testing"], [*_BASE, "data"]),
    "eval": (["s2sbench.eval"], [*_BASE, "media", "data", "models"]),
    "report": (["s2sbench.report"], [*_BASE, "data", "models", "eval"]),  # reads results, launches nothing
    "train": (["s2sbench.train"], [*_BASE, "data", "models", "eval", "report"]),  # runs, boards; writes results
    "study": (["s2sbench.study"], [*_BASE, "media", "data"]),
    "cli": (["s2sbench.cli", "s2sbench.__main__"], ["errors", "core", "media", "data", "download", "generators",
                                                    "models", "eval", "report", "train", "study"]),
    "api": (["s2sbench.api"], [*_BASE, "data", "models", "eval", "report", "train"]),  # load_run: the Python API
}
# The package root re-exports the Python API lazily (PEP 562 ``__getattr__``, so ``import s2sbench`` imports no
# more than before): ``s2sbench.load_run``. The one import up the layers, by design.
FACADE = {("s2sbench", "s2sbench.api")}
# Back-edges that still exist, each with the change that removes it; the test fails once one is gone, so that this
# list only shrinks. Empty now: keep it so.
PENDING: dict[tuple[str, str], str] = {}


def _layer(mod: str) -> str:
    """The layer of ``mod``: the one naming its longest prefix."""
    hits = [(len(n), layer) for layer, (names, _) in LAYERS.items() for n in names
            if mod == n or mod.startswith(n + ".")]
    assert hits, f"{mod} is in no layer of LAYERS"
    return max(hits)[1]


def _all_imports(name: str, path: Path) -> set[str]:
    """Every ``s2sbench`` module ``name`` imports, anywhere in the file (absolute, as written or resolved)."""
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            out.add(base)
    return {m for m in out if m == "s2sbench" or m.startswith("s2sbench.")}


def _back_edges(mods: dict[str, Path]) -> set[tuple[str, str]]:
    """(importer, imported) for every import of a layer that the importer's layer may not import."""
    out = set()
    for m, p in mods.items():
        mine = _layer(m)
        out |= {(m, dep) for dep in _all_imports(m, p) if (d := _layer(dep)) != mine and d not in LAYERS[mine][1]}
    return out


def test_imports_only_go_down_the_layers():
    mods = _modules()
    assert {_layer(m) for m in mods} == set(LAYERS)  # every layer holds modules: the map is not stale
    assert _cycles({k: set(deps) for k, (_, deps) in LAYERS.items()}) == []  # the layers themselves go one way
    back = _back_edges(mods) - FACADE
    new = sorted(back - set(PENDING))
    assert new == [], f"imports against the layer order (LAYERS): {new}"
    gone = sorted(set(PENDING) - back)
    assert gone == [], f"fixed back-edges still listed in PENDING (remove them): {gone}"


def test_back_edge_finder_sees_one(tmp_path):
    bad = tmp_path / "results.py"
    bad.write_text("def f():\n    from s2sbench.train.board import plan\n")
    assert _back_edges({"s2sbench.report.results": bad}) == {("s2sbench.report.results", "s2sbench.train.board")}
    rel = tmp_path / "fetch.py"
    rel.write_text("from ..eval import metrics\n")
    assert _back_edges({"s2sbench.download.fetch": rel}) == {("s2sbench.download.fetch", "s2sbench.eval")}


def test_modules_stay_small():
    big = {m: n for m, p in _modules().items() if (n := len(p.read_text().splitlines())) > 330}
    assert big == {}


@pytest.mark.slow
def test_wheel_holds_one_top_level_package(tmp_path):
    # Build from a copy of the tracked files, so that setuptools' build/ folder never lands in the checkout.
    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_bytes((ROOT / rel).read_bytes())
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("s2sbench-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"s2sbench"}
    # every package folder made it in, with the mapped folders under s2sbench/
    for mod in _modules():
        assert mod.replace(".", "/") + ".py" in names or mod.replace(".", "/") + "/__init__.py" in names, mod
    assert "s2sbench/report/paper_results.csv" in names
    assert any(n.startswith("s2sbench/study/page/") and n.endswith(".html") for n in names)
