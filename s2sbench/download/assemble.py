"""From committed per-video states to the published dataset: splits, ``DIR/shards`` + ``index.json``, ``manifest.csv``.

Splits are assigned per video, so a video never lands in two splits. Videos are visited in the order of
``sha256("<seed>:<video>")`` and each goes, whole, to the split furthest below its target; targets are the configured
sizes (the paper's by default) scaled down to what was obtained, so a small download keeps the paper's proportions.
Everything here is a pure function of the states, the keep-list and the seed: the same inputs give byte-identical
shards, which is what makes kill-and-resume safe. Shards are rewritten only when the list of clips changed.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from s2sbench.data.shards import INDEX_NAME, ShardIndex, ShardRecord, ShardWriter, open_shard, read_clips
from s2sbench.download.manifest import Row, VideoState, write_manifest
from s2sbench.optional import require

if TYPE_CHECKING:
    from s2sbench.download.jobs import DownloadConfig, VideoJob


@dataclass
class AssemblyResult:
    rows: list[Row]
    index: ShardIndex
    rewritten: bool  # False when the existing shards already held exactly these clips
    pacer_peak: float = 0.0  # the widest spacing between fetch starts this run (grows after rate limiting)

    def table(self) -> str:
        """The final summary: clips per status, per split, listed vs obtained."""
        clips = [r for r in self.rows if r.is_clip]
        counts = Counter(r.status for r in clips)
        failed_videos = Counter(r.status for r in self.rows if not r.is_clip)
        lines = [f"{'status':28s} {'clips':>7s}"]
        lines += [f"{s:28s} {n:7d}" for s, n in sorted(counts.items(), key=lambda kv: (kv[0] != "ok", kv[0]))]
        lines += [f"{s + ' (whole video)':28s} {n:7d}" for s, n in sorted(failed_videos.items())]
        splits = self.index.splits()
        obtained = sum(splits.values())
        lines.append("splits: " + ", ".join(f"{k} {splits.get(k, 0)}" for k in ("train", "val", "test")))
        lines.append(f"listed {len(clips)} clips, obtained {obtained}"
                     + (f" ({100.0 * obtained / len(clips):.1f} %)" if clips else ""))
        if counts.get("rate_limited") or self.pacer_peak > 0:
            lines.append(f"spacing between fetch starts peaked at {self.pacer_peak:.1f} s")
        return "\n".join(lines)


def assign_splits(videos: dict[str, int], sizes: dict[str, int], seed: int) -> dict[str, str]:
    """Video -> split, for videos with their good-clip counts (see module docstring); '' for videos left over."""
    total, want = sum(videos.values()), sum(sizes.values())
    scale = min(1.0, total / want) if want else 0.0
    target = {s: n * scale for s, n in sizes.items()}
    have = dict.fromkeys(sizes, 0)
    out: dict[str, str] = {}
    for v in sorted(videos, key=lambda v: hashlib.sha256(f"{seed}:{v}".encode()).hexdigest()):
        split = max(sizes, key=lambda s: target[s] - have[s])
        if target[split] - have[split] <= 0:
            out[v] = ""
            continue
        out[v], have[split] = split, have[split] + videos[v]
    return out


def _rows(jobs: list["VideoJob"], states: dict[str, VideoState], cfg: "DownloadConfig") -> list[Row]:
    rows: list[Row] = []
    n_clips = 0
    for j in jobs:
        for r in states[j.key].rows if j.key in states else []:
            if r.is_clip:
                if cfg.max_clips is not None and n_clips >= cfg.max_clips:
                    continue
                n_clips += 1
            r = replace(r, split="")
            if cfg.keep is not None and r.status == "ok" and r.id not in cfg.keep:
                r.status, r.sha256 = "rejected:not_in_keep_list", ""
            rows.append(r)
    return rows


def assemble(jobs: list["VideoJob"], states: dict[str, VideoState], cfg: "DownloadConfig",
             pacer_peak: float = 0.0) -> AssemblyResult:
    rows = _rows(jobs, states, cfg)
    good = Counter(r.video for r in rows if r.status == "ok")
    split_of = assign_splits(dict(good), cfg.split_sizes, cfg.seed)
    for r in rows:
        if r.status == "ok":
            r.split = split_of[r.video]
    chosen = [r for r in rows if r.split]
    digest = hashlib.sha256(json.dumps([cfg.spec.to_dict(), cfg.clips_per_shard] + [
        [r.split, r.id, r.sha256] for r in chosen]).encode()).hexdigest()
    root = cfg.out / "shards"
    root.mkdir(parents=True, exist_ok=True)
    for tmp in root.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
    old = existing_index(root)
    rewritten = not (old is not None and old.source.get("clips_digest") == digest and not old.verify(root))
    if rewritten:
        records = _write_shards(root, chosen, cfg)
    else:
        assert old is not None
        records = old.shards
    statuses = Counter(r.status for r in rows if r.is_clip)
    yt_dlp = require("yt_dlp", "download")
    source = {**cfg.source, "listed_clips": sum(r.is_clip for r in rows), "obtained_clips": len(chosen),
              "status_counts": dict(sorted(statuses.items())), "split_targets": cfg.split_sizes, "seed": cfg.seed,
              "keep_list": len(cfg.keep) if cfg.keep is not None else None, "clips_digest": digest,
              "yt_dlp_version": yt_dlp.version.__version__, "max_clips": cfg.max_clips}
    index = ShardIndex(spec=cfg.spec, shards=records, source=source)
    if rewritten or old is None or old.to_json() != index.to_json():
        index.save(root)
    keep = {r.file for r in records} | {INDEX_NAME}
    for f in root.glob("*.h5"):
        if f.name not in keep:
            f.unlink()
    write_manifest(cfg.out / "manifest.csv", rows)
    return AssemblyResult(rows=rows, index=index, rewritten=rewritten, pacer_peak=pacer_peak)


def existing_index(root: Path) -> ShardIndex | None:
    """The index in ``root``, or None when it is missing or unreadable (it is then rebuilt)."""
    try:
        return ShardIndex.load(root)
    except Exception:  # noqa: BLE001 - a missing or broken index just means "rewrite"
        return None


def _write_shards(root: Path, chosen: list[Row], cfg: "DownloadConfig") -> list[ShardRecord]:
    records: list[ShardRecord] = []
    for split in cfg.split_sizes:
        rows = [r for r in chosen if r.split == split]
        if not rows:
            continue
        with ShardWriter(root, cfg.spec, split, clips_per_shard=cfg.clips_per_shard) as w:
            handle, name, ids = None, None, {}
            for r in rows:
                if r.video != name:
                    if handle is not None:
                        handle.close()
                    name = r.video
                    handle = open_shard(cfg.out / "clips" / f"{name}.h5")
                    ids = {(i.decode() if isinstance(i, bytes) else str(i)): k for k, i in enumerate(handle["ids"][:])}
                w.write(read_clips(handle, [ids[r.id]])[0])
            if handle is not None:
                handle.close()
        records += w.records
    return records
