"""Models from other packages: a package that declares an entry point of the group ``s2sbench.models`` adds its
model to ``MODELS`` with no change to s2sbench. The test "installs" a tiny external package by putting its module and
a ``dist-info`` (metadata + ``entry_points.txt``, what pip writes) on ``PYTHONPATH``: no network, no pip."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s2sbench.registry import Registry, RegistryError
from s2sbench.testing import write_fake_dataset

EXT_MODEL = '''
"""An external model: the last seen frame times a learned gain."""
from dataclasses import dataclass

import torch

from s2sbench.models import VideoPredictor


@dataclass
class Config:
    lr: float = 0.05

    @classmethod
    def tiny(cls):
        return cls()


class LastGain(VideoPredictor):
    name = "ext_last_gain"
    Config = Config

    def __init__(self, spec, config=None):
        super().__init__(spec, config)
        self.gain = torch.nn.Parameter(torch.tensor(0.5))

    def configure_optimizers(self):
        return {"net": torch.optim.SGD(self.parameters(), lr=self.config.lr)}

    def training_step(self, batch, opt, step):
        p = self.spec.n_past
        loss = torch.mean((batch.video[:, p - 1:p] * self.gain - batch.video[:, p:]) ** 2)
        opt["net"].zero_grad()
        self.backward(loss)
        opt["net"].step()
        return {"loss": loss.item()}

    @torch.no_grad()
    def sample(self, context, audio, n_future, n_samples):
        last = (context[:, -1] * self.gain).clamp(0, 1)
        return last[:, None, None].expand(-1, 1, n_future, -1, -1, -1).clone()
'''


def install_fake(site: Path, entries: dict[str, str], group: str = "s2sbench.models", dist: str = "s2s_ext") -> Path:
    """Write package ``s2s_ext`` and its ``dist-info`` with ``entries`` (name -> "module:attr") into ``site``."""
    (site / "s2s_ext").mkdir(parents=True, exist_ok=True)
    (site / "s2s_ext" / "__init__.py").write_text(EXT_MODEL)
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()))
    return site


def s2sbench(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "s2sbench", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_an_installed_package_adds_a_model_to_ls_and_run(tmp_path):
    site = install_fake(tmp_path / "site", {"ext_last_gain": "s2s_ext:LastGain"})
    listed = s2sbench(["ls", "models"], site, tmp_path)
    assert listed.returncode == 0 and "ext_last_gain" in listed.stdout, listed.stderr
    assert "[video-only, from s2s_ext]" in listed.stdout  # where it comes from
    write_fake_dataset(tmp_path / "data", "m3so-nb", {"train": 16, "val": 4, "test": 4})
    ran = s2sbench(["run", "--model", "ext_last_gain", "--dataset", "m3so-nb", "--data", str(tmp_path / "data"),
                    "--preset", "smoke", "--out", str(tmp_path / "run"), "--quiet", "--set", "train.steps=4",
                    "--set", "eval.n_clips=4", "--set", "eval.n_samples=2"], site, tmp_path)
    assert ran.returncode == 0, ran.stderr[-2000:]
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["model"] == "ext_last_gain" and result["train"]["steps"] == 4
    assert "ext_last_gain" not in s2sbench(["ls", "models"], tmp_path / "empty", tmp_path).stdout  # not installed


def test_entry_points_are_read_lazily_and_a_clash_is_refused(tmp_path, monkeypatch):
    site = install_fake(tmp_path, {"ext_a": "s2s_ext:LastGain", "builtin": "s2s_ext:LastGain"}, group="s2s.test")
    monkeypatch.syspath_prepend(str(site))
    reg = Registry("model", lazy={"builtin": "json:dumps"}, group="s2s.test")
    with pytest.raises(RegistryError, match=r"entry point builtin .*'s2s_ext'.*rename it"):
        reg.keys()
    with pytest.raises(RegistryError, match="rename it"):  # every use, until the other package is fixed
        reg.get("builtin")
    (tmp_path / "s2s_ext-0.1.dist-info" / "entry_points.txt").write_text("[s2s.test]\next_a = s2s_ext:LastGain\n")
    reg = Registry("model", lazy={"builtin": "json:dumps"}, group="s2s.test")
    assert reg.keys() == ["builtin", "ext_a"] and reg.target("ext_a") == "s2s_ext:LastGain"
    assert reg.get("ext_a").name == "ext_last_gain"
    monkeypatch.delitem(sys.modules, "s2s_ext")  # imported from tmp_path: not for the other tests
