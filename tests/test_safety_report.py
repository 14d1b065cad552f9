"""Issue #15 on the report commands, the study server and the smoke preset: nothing to report is an error, committed
files are replaced only with --overwrite, a busy port is one line, and smoke models are truly tiny."""
from __future__ import annotations

import dataclasses
import json
import socket

import pytest
from click.testing import CliRunner

from s2sbench.cli import main
from s2sbench.models import MODELS, DataSpec, build_model
from s2sbench.testing import write_fake_dataset

pytestmark = pytest.mark.usefixtures("one_thread")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_error(res, *words):
    lines = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert res.exit_code == 1 and len(lines) == 1 and "Traceback" not in res.output, res.output
    assert all(w in lines[0] for w in words), lines[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    write_fake_dataset(tmp / "nb", "m3so-nb", {"train": 8, "val": 4, "test": 4})
    res = invoke("run", "--model", "copy_last", "--dataset", "m3so-nb", "--data", tmp / "nb", "--out",
                 tmp / "runs" / "m3so-nb" / "cl", "--set", "eval.n_samples=2", "--set", "eval.n_clips=4", "--quiet")
    assert res.exit_code == 0, res.output
    return tmp / "runs"


@pytest.mark.parametrize("cmd", [["tables"], ["plots"], ["leaderboard", "build"]])
def test_no_results_is_an_error(tmp_path, cmd):
    (tmp_path / "empty").mkdir()
    one_error(invoke(*cmd, tmp_path / "empty", "--out", tmp_path / "out"), "no result.json", "s2sbench run")
    assert not (tmp_path / "out").exists()


def test_leaderboard_build_keeps_committed_files_without_overwrite(runs, tmp_path):
    board = tmp_path / "board"
    board.mkdir()
    (board / "m3so-nb.csv").write_text("model,ssim_avg\ncommitted,0.9\n")
    one_error(invoke("leaderboard", "build", runs, "--out", board), "m3so-nb.csv", "--overwrite")
    assert (board / "m3so-nb.csv").read_text() == "model,ssim_avg\ncommitted,0.9\n"
    assert invoke("leaderboard", "build", runs, "--out", board, "--overwrite").exit_code == 0
    built = (board / "m3so-nb.csv").read_bytes()
    assert b"copy_last" in built
    assert invoke("leaderboard", "build", runs, "--out", board).exit_code == 0  # same bytes: nothing replaced
    assert (board / "m3so-nb.csv").read_bytes() == built


@pytest.mark.parametrize("cmd, name", [(["tables"], "table1.md"), (["plots"], "m3so-nb_curves.png")])
def test_tables_and_plots_keep_existing_files_without_overwrite(runs, tmp_path, cmd, name):
    out = tmp_path / "out"
    out.mkdir()
    (out / name).write_text("mine")
    one_error(invoke(*cmd, runs, "--out", out), name, "--overwrite")
    assert (out / name).read_text() == "mine"
    assert invoke(*cmd, runs, "--out", out, "--overwrite").exit_code == 0
    assert (out / name).read_bytes() != b"mine"


def test_unwritable_out_of_reports_is_one_line(runs, tmp_path):
    (tmp_path / "file").write_text("x")
    for cmd in (["tables"], ["plots"], ["leaderboard", "build"]):
        one_error(invoke(*cmd, runs, "--out", tmp_path / "file" / "sub"), str(tmp_path / "file"))


def test_leaderboard_show_rejects_an_unknown_protocol(runs, tmp_path):
    assert invoke("leaderboard", "build", runs, "--out", tmp_path).exit_code == 0
    one_error(invoke("leaderboard", "show", "m3so-nb", "--dir", tmp_path, "--protocol", "nonsense"), "nonsense")


def test_study_serve_on_a_busy_port_is_one_line(tmp_path):
    from _study_fixtures import bare_study

    study = bare_study(tmp_path / "study", 2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        one_error(invoke("study", "serve", study, "--port", port), f"127.0.0.1:{port}", "in use", "--port 0")


@pytest.mark.parametrize("name", sorted(n for n in MODELS.keys() if n != "testing_tiny"))
def test_smoke_configs_are_tiny_with_the_clamped_output(name):
    cls = MODELS.get(name)
    cfg = cls.Config.tiny()
    for ds in ("m3so-nb", "m3so"):
        n = build_model(name, DataSpec.for_dataset(ds), cfg).num_parameters()
        assert n < 1_000_000, (name, ds, n)
    if dataclasses.is_dataclass(cfg) and "output" in {f.name for f in dataclasses.fields(cfg)}:
        assert cfg.output == "clamp", name


def test_result_json_records_warnings(runs):
    d = json.loads((runs / "m3so-nb" / "cl" / "result.json").read_text())
    assert d["warnings"] == []  # the preset's 4 clips (eval.n_clips=4) were all there
