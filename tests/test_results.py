"""`s2sbench.report.results.code_version`: what a RunResult records about the code that produced it."""
from __future__ import annotations


def test_code_version_is_dirty_for_code_changes_but_not_for_leaderboard_files(tmp_path):
    import subprocess

    from s2sbench.report.results import code_version

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    (tmp_path / "leaderboard").mkdir()
    (tmp_path / "leaderboard" / "log.csv").write_text("a\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "c")
    clean = code_version(tmp_path)
    assert "+git." in clean and not clean.endswith("-dirty")
    (tmp_path / "leaderboard" / "log.csv").write_text("b\n")  # a run writing its committed log
    assert code_version(tmp_path) == clean
    (tmp_path / "code.py").write_text("x = 2\n")
    assert code_version(tmp_path) == clean + "-dirty"
