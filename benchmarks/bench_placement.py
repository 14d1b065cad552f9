"""Where the downloader puts each clip, per container: wanted vs stored start time and marker frame.

Builds the real-recording media of ``s2sbench/download/realmedia.py`` (one white frame + one snare hit per clip),
serves it on 127.0.0.1, runs ``s2sbench download audioset-drums`` with real yt-dlp windowed fetches, then for every
stored clip reports the wanted start, the stored start (found by matching the clip's frames against a full decode of
the source at 30 fps: the offset with the smallest mean absolute difference, to 1/30 s) and the flash and hit frames
against the expected frame. Uses only the CLI and the shard reader, so it runs against older code as well.

    PYTHONPATH=.:tests python benchmarks/bench_placement.py
"""
from __future__ import annotations

import csv
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from s2sbench.cli import main as cli
from s2sbench.data.datasets import DATASETS
from s2sbench.data.loader import ClipDataset
from s2sbench.download import realmedia
from s2sbench.download.realmedia import COMBOS, flash_frame, markers, onset_frame
from s2sbench.media import run_ffmpeg

SPEC = DATASETS.get("audioset-drums").spec


def reference(path: Path) -> np.ndarray:
    """The whole source decoded like a clip (30 fps, 64x64 centre crop), as float frames."""
    s = SPEC.height
    raw = run_ffmpeg(["-i", str(path), "-map", "0:v:0", "-vf", f"fps={SPEC.fps}:start_time=0,scale={s}:{s}:"
                      f"force_original_aspect_ratio=increase:flags=area,crop={s}:{s},setsar=1,format=rgb24",
                      "-f", "rawvideo", "pipe:1"])
    return np.frombuffer(raw, np.uint8).reshape(-1, s, s, 3).astype(np.float32)


def stored_start(frames: np.ndarray, ref: np.ndarray, n: int = 30) -> float:
    clip = frames[:n].astype(np.float32)
    errs = [np.abs(ref[k:k + n] - clip).mean() for k in range(len(ref) - n)]
    return int(np.argmin(errs)) / SPEC.fps


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
    from _mediaserver import MediaServer

    if realmedia.missing():
        sys.exit(f"Error: {realmedia.missing()}")
    root = Path(tempfile.mkdtemp(prefix="bench-placement-"))
    try:
        www, scratch = root / "www", root / "scratch"
        www.mkdir()
        scratch.mkdir()
        served = {c.name: realmedia.build(c, www, [m for _, m in markers(c)], scratch) for c in COMBOS}
        seg = root / "segments.csv"
        seg.write_text("".join(f'{c.name}, {s:.3f}, {s + 3:.3f}, "/m/026t6"\n' for c in COMBOS for s, _ in markers(c)))
        out = root / "out"
        with MediaServer(www) as server:
            server.aliases.update(served)
            res = CliRunner().invoke(cli, ["download", "audioset-drums", "--segments", str(seg), "--out", str(out),
                                           "--url-template", server.url + "/{ytid}", "--sleep", "0", "--quiet",
                                           "--workers", "2", "--split-sizes", "100,0,0"])
        if res.exit_code != 0:
            sys.exit(res.output)
        with open(out / "manifest.csv", newline="") as f:
            rows = {r["id"]: r for r in csv.DictReader(f)}
        clips = {}
        if (out / "shards" / "index.json").exists():
            ds = ClipDataset(out / "shards", "train", audio_features="raw")
            clips = {ds.clip(i).id: ds.clip(i) for i in range(len(ds))}
        print(f"{'container':26s} {'fetched':8s} {'wanted s':>8s} {'stored s':>8s} {'marker frame':>12s} "
              f"{'flash':>6s} {'hit':>6s}  status")
        for c in COMBOS:
            src = www / served[c.name]
            ref = reference(src.with_name(src.stem + ".video" + (".mp4" if c.layout == "dash-mp4" else ".webm"))
                            if c.layout.startswith("dash") else src)
            kinds = sorted({p.suffix for p in (out / "raw" / c.name).glob("*.*") if p.suffix != ".json"})
            for s, m in markers(c):
                cid = f"{c.name}_{int(round(s * 1000))}"
                clip = clips.get(cid)
                if clip is None:
                    print(f"{c.name:26s} {','.join(kinds):8s} {s:8.3f} {'-':>8s} {(m - s) * SPEC.fps:12.1f} "
                          f"{'-':>6s} {'-':>6s}  {rows[cid]['status']} {rows[cid]['error'][:60]}")
                    continue
                flash, hit = flash_frame(clip.frames), onset_frame(clip.audio, SPEC.samples_per_frame)
                print(f"{c.name:26s} {','.join(kinds):8s} {s:8.3f} {stored_start(clip.frames, ref):8.3f} "
                      f"{(m - s) * SPEC.fps:12.1f} {'none' if flash is None else flash:>6} "
                      f"{'none' if hit is None else f'{hit:.1f}':>6}  {rows[cid]['status']}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
