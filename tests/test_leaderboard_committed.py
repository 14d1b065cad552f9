"""The committed leaderboard (``leaderboard/``) is exactly what its committed runs give: the CSVs and the rendered
tables rebuild byte for byte from ``leaderboard/runs/**/result.json``, every run is a ``board``-preset run of a
registered model, and the data digest every row names is the digest of the data `make-m3so` generates today with
its defaults (M3SO: the 24 px block)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from s2sbench.cli import main
from s2sbench.report.results import find_results

BOARD = Path(__file__).resolve().parents[1] / "leaderboard"
TABLE_DIRS = {"paper-protocol": [], "strict-protocol": ["--protocol", "best_sequence", "--ssim", "ssim"]}


def committed_results():
    return [r for _, r in find_results(BOARD / "runs")]


def test_leaderboard_csvs_rebuild_byte_for_byte(tmp_path):
    res = CliRunner().invoke(main, ["leaderboard", "build", str(BOARD / "runs"), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    built = sorted(p.name for p in tmp_path.glob("*.csv"))
    assert built == sorted(p.name for p in BOARD.glob("*.csv")) == ["m3so-nb.csv", "m3so.csv"]
    for name in built:
        assert (tmp_path / name).read_bytes() == (BOARD / name).read_bytes(), name


@pytest.mark.parametrize("name", sorted(TABLE_DIRS))
def test_rendered_tables_rebuild_byte_for_byte(tmp_path, name):
    res = CliRunner().invoke(main, ["tables", str(BOARD / "runs"), "--out", str(tmp_path), *TABLE_DIRS[name]])
    assert res.exit_code == 0, res.output
    committed = sorted(p.name for p in (BOARD / "tables" / name).iterdir())
    assert committed == sorted(p.name for p in tmp_path.iterdir()) and "table1.md" in committed
    for f in committed:
        assert (tmp_path / f).read_bytes() == (BOARD / "tables" / name / f).read_bytes(), f


def registered_models() -> set[str]:
    """The models a user sees (a fresh interpreter: test-only models registered by other tests do not count)."""
    out = subprocess.run([sys.executable, "-c", "from s2sbench.models import MODELS; print(*MODELS.keys())"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_every_registered_model_has_a_board_run_on_both_datasets():
    results, models = committed_results(), registered_models()
    assert "sound2sight" in models and len(models) >= 11
    assert {r.preset for r in results} == {"board"}
    for ds in ("m3so-nb", "m3so"):
        assert {r.model for r in results if r.dataset == ds} == models, ds
        assert len({r.data_sha256 for r in results if r.dataset == ds}) == 1, f"{ds}: runs on different data"
    from s2sbench.models import MODELS

    for r in results:
        assert r.n_samples == 100 and set(r.protocols) >= {"best_per_frame", "best_sequence"}
        if r.train is not None and MODELS.get(r.model).trainable:
            assert r.train["stopped"].startswith("CPU budget of 5 min"), (r.dataset, r.model, r.train["stopped"])


@pytest.mark.slow
@pytest.mark.parametrize("dataset,variant", [("m3so-nb", "nb"), ("m3so", "m3so")])
def test_rows_name_the_data_that_make_m3so_generates_today(tmp_path, dataset, variant):
    from s2sbench.data.shards import ShardIndex
    from s2sbench.generators.m3so import make_m3so

    make_m3so(tmp_path, variant=variant, seed=0, progress=False)
    digest = ShardIndex.load(tmp_path).digest()
    assert {r.data_sha256 for r in committed_results() if r.dataset == dataset} == {digest}
