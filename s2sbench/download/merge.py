"""Scale-out: one dataset downloaded by several hosts (``--shard i/n``), merged into one set of shards and one manifest.

``in_shard(key, shard)`` splits by video (a hash of its key, so every host agrees without talking to the others and
a video never straddles two hosts). Every run writes ``DIR/plan.json``: the full ordered video list, its shard and
what assembly depends on (clip spec, seed, split sizes, clips per shard, keep-list, source). ``merge(dirs, out)``
checks that the folders share one plan and together hold every shard exactly once, that each video has a final
state in the folder of its shard, copies the states and staged clips into ``out`` and assembles them with the same
pure function as a single-host run, so ``out/manifest.csv`` and ``out/shards`` are byte-identical to one host's.

``claim_plan`` is the re-run policy of a download folder: one that holds a finished dataset (``shards/index.json``
with at least one shard) is continued only with the plan that made it; other options (another seed, keep-list,
video list, ...) would replace that dataset, so they need ``cfg.overwrite`` (``--overwrite``). The downloaded videos
and their states are reused either way.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from s2sbench.data.clip import ClipSpec
from s2sbench.data.shards import atomic_write_bytes
from s2sbench.download.assemble import AssemblyResult, assemble, existing_index
from s2sbench.download.jobs import DownloadConfig, VideoJob
from s2sbench.download.manifest import StateStore, VideoState
from s2sbench.errors import ConfigError, InputError, OutputError
from s2sbench.safety.claims import DirLock

PLAN = "plan.json"
# what each plan entry is called on the command line, for the refusal message
_OPTION = {"videos": "the video list", "shard": "--shard", "spec": "the clip spec", "seed": "--seed",
           "split_sizes": "--split-sizes", "clips_per_shard": "--clips-per-shard", "keep": "--keep-list",
           "max_clips": "--max-clips", "source": "the source options"}


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 1 <= i <= n; ``ValueError`` naming the fix otherwise."""
    try:
        i, n = (int(x) for x in text.split("/"))
        assert 1 <= i <= n
    except (ValueError, AssertionError):
        raise ConfigError(f"--shard {text!r}: expected i/n with 1 <= i <= n, e.g. 1/4") from None
    return i, n


def in_shard(key: str, shard: tuple[int, int] | None) -> bool:
    """Whether video ``key`` belongs to ``shard`` (i, n); every video belongs to ``None``."""
    if shard is None:
        return True
    i, n = shard
    return int(hashlib.sha256(key.encode()).hexdigest()[:16], 16) % n == i - 1


def plan_of(jobs: list[VideoJob], cfg: DownloadConfig) -> dict[str, Any]:
    return {"videos": [j.key for j in jobs], "shard": list(cfg.shard) if cfg.shard else None,
            "spec": cfg.spec.to_dict(), "seed": cfg.seed, "split_sizes": cfg.split_sizes,
            "clips_per_shard": cfg.clips_per_shard, "keep": sorted(cfg.keep) if cfg.keep is not None else None,
            "max_clips": cfg.max_clips, "source": cfg.source}


def save_plan(jobs: list[VideoJob], cfg: DownloadConfig) -> None:
    plan = plan_of(jobs, cfg)
    atomic_write_bytes(cfg.out / PLAN, json.dumps(plan, indent=1).encode())  # key order kept: splits fill in order


def claim_plan(jobs: list[VideoJob], cfg: DownloadConfig) -> None:
    """Refuse (``OutputError``) to rebuild ``cfg.out``'s finished dataset from a plan other than its own, unless
    ``cfg.overwrite`` (module docstring). Checked before anything is fetched or written."""
    index = None if cfg.overwrite else existing_index(cfg.out / "shards")
    if index is None or not index.shards:  # no readable index, or nothing obtained yet: no work to lose
        return
    new = json.loads(json.dumps(plan_of(jobs, cfg)))
    try:
        old = json.loads((cfg.out / PLAN).read_text())
    except (OSError, ValueError):
        old = None
    if old == new:
        return
    if not isinstance(old, dict):
        what = f"no readable {PLAN}, so its options are unknown"
    else:
        what = "other " + ", ".join(_OPTION.get(k, k) for k in sorted(set(new) | set(old)) if old.get(k) != new.get(k))
    raise OutputError(f"{cfg.out}: holds a finished dataset built with {what}; pass --overwrite to replace it "
                      f"(downloaded videos are reused), or choose another --out")


def _load_plan(d: Path) -> dict[str, Any]:
    try:
        return json.loads((d / PLAN).read_text())
    except FileNotFoundError:
        raise InputError(f"{d / PLAN}: not found; is {d} a download folder (run with --shard there)?") from None
    except ValueError as e:
        raise InputError(f"{d / PLAN}: corrupt ({e}); re-run the download there to rewrite it") from None


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def merge(dirs: list[Path], out: Path, progress: bool = False, overwrite: bool = False) -> AssemblyResult:
    """Merge the shard folders ``dirs`` into ``out`` (see module docstring); ``ValueError`` on any mismatch, and
    ``OutputError`` if ``out`` holds a dataset of another plan (unless ``overwrite``) or is in use."""
    plans = {d: _load_plan(d) for d in dirs}
    first = next(iter(plans.values()))
    common = {k: v for k, v in first.items() if k != "shard"}
    for d, p in plans.items():
        diff = sorted(k for k in common if p.get(k) != common[k])
        if diff:
            raise InputError(f"{d / PLAN}: differs from {dirs[0] / PLAN} in {', '.join(diff)}; "
                             "every shard must be run with the same list and options")
    shards = {tuple(p["shard"]) if p["shard"] else (1, 1): d for d, p in plans.items()}
    n = next(iter(shards))[1]
    want = {(i, n) for i in range(1, n + 1)}
    if set(shards) != want or len(shards) != len(dirs):
        have = ", ".join(f"{i}/{m}" for i, m in sorted(shards))
        raise InputError(f"shards {have} given; expected each of 1/{n} .. {n}/{n} exactly once")
    if out.resolve() in {d.resolve() for d in dirs}:
        raise ConfigError(f"{out}: the merged output must be a new folder, not one of the shard folders")
    keep = set(first["keep"]) if first["keep"] is not None else None
    cfg = DownloadConfig(out=out, spec=ClipSpec.from_dict(first["spec"]), seed=first["seed"],
                         split_sizes=first["split_sizes"], clips_per_shard=first["clips_per_shard"], keep=keep,
                         max_clips=first["max_clips"], source=first["source"], progress=progress, overwrite=overwrite)
    jobs = [VideoJob(k, "") for k in first["videos"]]
    with DirLock(out, "download folder"):
        claim_plan(jobs, cfg)
        states: dict[str, tuple[Path, VideoState]] = {}
        for key in first["videos"]:  # every state checked before anything is copied
            shard = next(s for s in shards if in_shard(key, s if n > 1 else None))
            src = shards[shard]
            st = StateStore(src / "state").load(key)
            if st is None or not st.final:
                raise InputError(f"{src}: video {key} of shard {shard[0]}/{n} has no final state; "
                                 f"re-run that shard's download in {src} first")
            states[key] = (src, st)
        store = StateStore(out / "state")
        for src, st in states.values():
            if st.clips_file:
                _copy(src / st.clips_file, out / st.clips_file)
            store.save(st)
        save_plan(jobs, cfg)
        return assemble(jobs, {k: st for k, (_, st) in states.items()}, cfg)
