"""Errors in one place: the CLI prints the project's own errors (``s2sbench.errors.S2SError``) as one ``Error:`` line
and exit 1; anything else is a bug that keeps its traceback, followed by a line asking to report it."""
from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from s2sbench import __version__
from s2sbench.cli import BUG_NOTE, main
from s2sbench.errors import ConfigError, InputError, OutputError, S2SError, ToolError, TrainingError

ROOT = Path(__file__).resolve().parents[1]


def _fail_with(monkeypatch, exc: BaseException):
    """``leaderboard show`` raises ``exc`` from inside the library, as a real failure would."""
    import s2sbench.report.leaderboard as lb

    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(lb, "show", boom)
    return CliRunner().invoke(main, ["leaderboard", "show", "m3so"])


@pytest.mark.parametrize("exc", [ConfigError("--set x=1: no such key (keys: a, b)"),
                                 InputError("data/x/index.json: not a dataset; make it with ..."),
                                 OutputError("runs/a: exists; pass --overwrite"),
                                 TrainingError("step 3: loss is nan"), ToolError("ffmpeg exited with 1")])
def test_a_project_error_is_one_line(monkeypatch, exc):
    res = _fail_with(monkeypatch, exc)
    assert res.exit_code == 1 and res.output == f"Error: {exc}\n", res.output


def test_a_bug_keeps_its_traceback_and_asks_to_be_reported(monkeypatch):
    res = _fail_with(monkeypatch, ValueError("x must be positive"))  # a ValueError is not a user error
    assert res.exit_code == 1 and "Error:" not in res.output
    assert isinstance(res.exception, ValueError) and res.exception.__notes__ == [BUG_NOTE]
    assert __version__ in BUG_NOTE and "report" in BUG_NOTE


@pytest.mark.parametrize("exc", [FileNotFoundError(2, "No such file or directory", "x.json"), KeyError("k")])
def test_other_standard_errors_are_bugs_too(monkeypatch, exc):
    res = _fail_with(monkeypatch, exc)
    assert res.exception is exc and exc.__notes__ == [BUG_NOTE]


def test_the_environment_is_one_line(monkeypatch):
    res = _fail_with(monkeypatch, PermissionError(13, "Permission denied", "/ro/out"))
    assert res.exit_code == 1 and res.output.startswith("Error: /ro/out: Permission denied (check the path"), \
        res.output


def test_ctrl_c_exits_130(monkeypatch):
    res = _fail_with(monkeypatch, KeyboardInterrupt())
    assert res.exit_code == 130 and "Interrupted" in res.output


def test_usage_errors_exit_2():
    res = CliRunner().invoke(main, ["run", "--no-such-option"])
    assert res.exit_code == 2


def test_an_unknown_name_is_one_line(tmp_path):
    res = CliRunner().invoke(main, ["leaderboard", "run", "--preset", "nosuch", "--dry-run", "--runs", str(tmp_path)])
    lines = res.output.splitlines()
    assert res.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: unknown preset 'nosuch'"), res.output


def test_the_bug_note_follows_the_traceback_in_a_real_process():
    code = ("import s2sbench.report.leaderboard as lb\n"
            "def boom(*a, **k):\n    raise ValueError('x must be positive')\n"
            "lb.show = boom\n"
            "from s2sbench.cli import main\n"
            "main(['leaderboard', 'show', 'm3so'])\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 1 and lines[0] == "Traceback (most recent call last):", p.stderr
    assert lines[-2:] == ["ValueError: x must be positive", BUG_NOTE], p.stderr


def _error_classes():
    """(module, class name) of every exception class the package defines (by parsing, so none is missed)."""
    from test_design import _modules

    for mod, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                    (getattr(b, "id", None) or getattr(b, "attr", "")).endswith(("Error", "Exception", "Refused"))
                    for b in node.bases):
                yield mod, node.name


def test_every_error_class_has_the_one_base():
    classes = list(_error_classes())
    assert len(classes) >= 10  # the scan sees them
    # Control flow inside one module (an HTTP reply, a retry), never shown to a user:
    internal = {("s2sbench.study.app", "Reply"), ("s2sbench.generators.m3so_reference", "_NoPlace")}
    stray = [(m, c) for m, c in classes if (m, c) not in internal
             and not issubclass(getattr(importlib.import_module(m), c), S2SError)]
    assert stray == [], f"exception classes outside s2sbench.errors.S2SError: {stray}"


def test_board_sets_reach_every_run_command(tmp_path):
    res = CliRunner().invoke(main, ["leaderboard", "run", "--dataset", "m3so-nb", "--model", "copy_last", "--model",
                                    "svg_lp", "--set", "eval.metrics=-lpips", "--dry-run", "--runs", str(tmp_path)])
    lines = res.output.splitlines()
    assert res.exit_code == 0 and len(lines) == 2, res.output
    assert all("--set eval.metrics=-lpips" in line and "--preset board " in line for line in lines), lines
