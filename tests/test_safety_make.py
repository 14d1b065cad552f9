"""Issue #15 on `s2sbench make-m3so`: an existing dataset is kept, bad sizes and full disks are refused before any
work, Ctrl-C exits 130 leaving nothing under a final name, workers die with the parent, and a rerun resumes from the
finished shards with the same bytes as an uninterrupted run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from s2sbench.cli import main
from s2sbench.generators.m3so import make_m3so

SMALL = dict(variant="nb", n=200, n_val=25, n_test=25, clips_per_shard=25, workers=2, progress=False)
CLI_SMALL = ["--variant", "nb", "--n", "200", "--n-val", "25", "--n-test", "25", "--clips-per-shard", "25",
             "--workers", "2", "--quiet"]


def files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.is_file() and not p.name.startswith(".")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("ref") / "nb"
    make_m3so(out, **SMALL)
    return files(out)


def test_existing_dataset_is_kept_without_overwrite(tmp_path, reference):
    out = tmp_path / "nb"
    make_m3so(out, **SMALL)
    res = CliRunner().invoke(main, ["make-m3so", "--out", str(out), *CLI_SMALL, "--seed", "1"])
    assert res.exit_code == 1 and "--overwrite" in res.output and "already there" in res.output, res.output
    assert files(out) == reference
    res = CliRunner().invoke(main, ["make-m3so", "--out", str(out), *CLI_SMALL, "--seed", "1", "--overwrite"])
    assert res.exit_code == 0, res.output
    assert files(out)["index.json"] != reference["index.json"]


def test_other_files_are_kept_without_overwrite(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    res = CliRunner().invoke(main, ["make-m3so", "--out", str(tmp_path), *CLI_SMALL])
    assert res.exit_code == 1 and "other file" in res.output and "--overwrite" in res.output, res.output
    assert (tmp_path / "mine.txt").read_text() == "precious"


def test_empty_splits_are_refused(tmp_path):
    res = CliRunner().invoke(main, ["make-m3so", "--n", "7", "--out", str(tmp_path / "x")])
    assert res.exit_code == 1 and "splits empty" in res.output and "--n >= 8" in res.output, res.output
    assert not (tmp_path / "x").exists()


def test_a_dataset_larger_than_the_free_space_is_refused(tmp_path):
    t = time.perf_counter()
    res = CliRunner().invoke(main, ["make-m3so", "--n", "100000000", "--out", str(tmp_path / "x")])
    assert res.exit_code == 1 and "GB free" in res.output and "fewer clips" in res.output, res.output
    assert time.perf_counter() - t < 30 and not list((tmp_path / "x").glob("*.h5"))


def _start(out: Path, options: list[str] = CLI_SMALL) -> subprocess.Popen:
    # SIGINT back to its default in the child: a shell's background job (pytest ... &) inherits it ignored
    return subprocess.Popen([sys.executable, "-m", "s2sbench", "make-m3so", "--out", str(out), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_shards(out: Path, proc: subprocess.Popen, n: int = 1) -> None:
    t = time.monotonic()
    while len(list(out.glob("train-*.h5"))) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t < 120
        time.sleep(0.02)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_ctrl_c_exits_130_and_a_rerun_resumes_with_the_same_bytes(tmp_path, reference):
    out = tmp_path / "nb"
    proc = _start(out)
    _wait_for_shards(out, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Interrupted" in err
    left = sorted(p.name for p in out.iterdir())
    assert "index.json" not in left and not [n for n in left if n.endswith(".tmp")], left
    finished = {n for n in left if n.endswith(".h5")}
    assert finished and len(finished) < len(reference) - 1  # interrupted part-way
    res = CliRunner().invoke(main, ["make-m3so", "--out", str(out), *CLI_SMALL])
    assert res.exit_code == 0, res.output
    assert files(out) == reference  # byte-identical to an uninterrupted run


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_a_killed_parent(tmp_path):
    out = tmp_path / "nb"
    proc = _start(out, ["--variant", "nb", "--n", "800", "--clips-per-shard", "100", "--workers", "2", "--quiet"])
    _wait_for_shards(out, proc)
    workers = _children(proc.pid)
    assert workers, "no worker processes seen"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)  # not communicate(): surviving workers would hold its pipes open
    before = sorted(p.name for p in out.glob("*.h5"))
    time.sleep(3)  # long enough for a surviving worker to finish the shard it was writing
    assert not any(_alive(w) for w in workers)
    assert sorted(p.name for p in out.glob("*.h5")) == before  # nobody wrote anything after the parent died
    proc.stdout.close()
    proc.stderr.close()
