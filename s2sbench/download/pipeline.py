"""The download pipeline shared by AudioSet-Drums and YouTube-Painting: videos in, HDF5 shards and a manifest out.

``run_download(jobs, cfg)`` takes ``VideoJob`` s (made by ``generators/audioset_drums.py`` or
``generators/youtube_painting.py``) and, with ``cfg.workers`` threads (the heavy work runs in yt-dlp's and ffmpeg's
own processes):

1. fetches each video or its padded windows (``s2sbench.download.fetch``: retries, backoff, rate-limit pacing) into
   ``DIR/raw/<video>/``;
2. places every clip in its fetched file from the file's own timestamps (``s2sbench.download.place``), cuts it
   exactly in its own decode (``s2sbench.download.media.decode_clip``), checks that the first decoded frame is at
   the labelled time, rejects short, black, frozen or silent ones (``s2sbench.download.quality``), stages the good
   ones in ``DIR/clips/<video>.h5`` and commits the video's rows in ``DIR/state/<video>.json``
   (``s2sbench.download.manifest``);
3. assigns splits by video and writes ``DIR/shards`` + ``index.json`` and ``DIR/manifest.csv``
   (``s2sbench.download.assemble``).

With ``cfg.shard`` (i, n) only this host's share of the videos is processed (``s2sbench.download.merge`` joins
the shares). Re-running skips videos whose state is final; a SIGKILL at any moment loses at most the videos in
flight, and the shards and manifest are rebuilt from the committed states, so they come out the same as after an
uninterrupted run. The folder is locked for the run (a second process into it is refused), and a folder holding a
finished dataset is continued only with the options that made it unless ``cfg.overwrite``
(``s2sbench.download.merge.claim_plan``).
"""
from __future__ import annotations

import hashlib
import shutil
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from s2sbench.data.clip import Clip
from s2sbench.data.shards import audio_to_int16, write_shard
from s2sbench.download.assemble import AssemblyResult, assemble
from s2sbench.download.fetch import FetchError, Pacer, fetch
from s2sbench.download.jobs import DownloadConfig, VideoJob
from s2sbench.download.manifest import Row, StateStore, VideoState, clip_id
from s2sbench.download.media import Timeline, decode_clip, timeline
from s2sbench.download.merge import claim_plan, in_shard, save_plan
from s2sbench.download.place import check_first_frame, place, window_of
from s2sbench.download.quality import fit_audio, reject_reason
from s2sbench.errors import ConfigError, InputError
from s2sbench.media import MediaError
from s2sbench.safety.claims import DirLock


def clip_sha256(clip: Clip) -> str:
    """sha256 of a decoded clip as stored: frames bytes, then the int16 audio bytes."""
    return hashlib.sha256(clip.frames.tobytes() + audio_to_int16(clip.audio).tobytes()).hexdigest()


def _cut(job: VideoJob, raw: Path, record: dict[str, Any], cfg: DownloadConfig,
         attempts: int) -> tuple[list[Row], list[Clip]]:
    spec, length = cfg.spec, cfg.spec.num_frames / cfg.spec.fps
    files = record["files"]
    timelines: dict[str, Timeline] = {}
    starts = job.starts
    if starts is None:
        assert job.plan is not None
        timelines[files[0]] = timeline(raw / files[0])
        tl0 = timelines[files[0]]
        starts = job.plan(tl0.end - tl0.origin if tl0.video or tl0.audio else 0.0)
    rows: list[Row] = []
    clips: list[Clip] = []
    staging = cfg.out / "clips"
    for s in starts:
        cid = clip_id(job.key, s)
        row = Row(cid, job.key, job.url, s, s + length, "ok", attempts)
        rows.append(row)
        where = window_of(s, length, record.get("windows"), files)
        if where is None:
            row.status, row.error = "rejected:short", "clip is not inside the fetched window"
            continue
        try:
            tl = timelines.get(where[0]) or timelines.setdefault(where[0], timeline(raw / where[0]))
            p = place(s, where[0], where[1], record.get("duration"), tl)
            if p.status != "ok":
                row.status, row.error = p.status, p.error
                continue
            frames, audio, first = decode_clip(raw / p.file, p.start, spec.fps, spec.num_frames, spec.height,
                                               spec.sample_rate, tmp_dir=staging, origin=tl.origin)
        except MediaError as e:
            row.status, row.error = "failed_decode", str(e)
            continue
        off = check_first_frame(p, first)
        if off:
            row.status, row.error = "rejected:unplaced", off
            continue
        reason = reject_reason(frames, audio, spec, cfg.quality)
        if reason:
            row.status, row.error = f"rejected:{reason}", f"{len(frames)} frames, {audio.size} samples"
            continue
        fitted, padded = fit_audio(audio, spec, cfg.quality)
        meta = {**job.meta, "video": job.key, "url": job.url, "start": s, "end": s + length,
                "title": record.get("title"), "audio_padded": padded}
        clip = Clip(cid, frames.copy(), fitted, meta).check(spec)
        row.sha256 = clip_sha256(clip)
        clips.append(clip)
    return rows, clips


def process_video(job: VideoJob, cfg: DownloadConfig, pacer: Pacer, store: StateStore,
                  prev: VideoState | None) -> VideoState:
    """Fetch, cut, check and stage one video; commit and return its state. Never raises for a bad video."""
    before = prev.attempts if prev else 0
    raw = cfg.out / "raw" / job.key
    length = cfg.spec.num_frames / cfg.spec.fps
    try:
        record, n = fetch(job.url, raw, job.windows, cfg.fetch, pacer)
        rows, clips = _cut(job, raw, record, cfg, before + n)
        state = VideoState(job.key, rows, before + n)
    except FetchError as e:
        rows = [Row(clip_id(job.key, s), job.key, job.url, s, s + length, e.status, before + e.attempts, e.message)
                for s in job.starts or []] or [Row(job.key, job.key, job.url, None, None, e.status,
                                                   before + e.attempts, e.message)]
        state, clips = VideoState(job.key, rows, before + e.attempts), []
    except Exception as e:  # noqa: BLE001 - one bad video never stops the run; retried next time
        state = VideoState(job.key, [Row(job.key, job.key, job.url, None, None, "failed_download", before,
                                         f"{type(e).__name__}: {e}")], before)
        clips = []
    if clips:
        # staged uncompressed: gzip would cost ~5x the write time to save ~30 % on natural frames
        write_shard(cfg.out / "clips" / f"{job.key}.h5", cfg.spec, "staged", clips, compression=None)
        state.clips_file = f"clips/{job.key}.h5"
    store.save(state)
    if state.final and not cfg.keep_raw:
        shutil.rmtree(raw, ignore_errors=True)
    return state


def _cutoff(jobs: list[VideoJob], states: dict[str, VideoState], max_clips: int | None) -> int | None:
    """How many leading jobs hold the first ``max_clips`` listed clips; None while a needed count is unknown."""
    if max_clips is None:
        return len(jobs)
    total = 0
    for i, j in enumerate(jobs):
        if total >= max_clips:
            return i
        st = states.get(j.key)
        n = len(j.starts) if j.starts is not None else (sum(r.is_clip for r in st.rows) if st else None)
        if n is None:
            return None
        total += n
    return len(jobs)


def run_download(jobs: list[VideoJob], cfg: DownloadConfig) -> AssemblyResult:
    """Process every job not already final (in list order, ``cfg.workers`` at a time), then assemble the dataset."""
    if len({j.key for j in jobs}) != len(jobs):
        raise InputError("duplicate video keys in the job list")
    if cfg.shard is not None and cfg.max_clips is not None:
        raise ConfigError("--max-clips cannot be combined with --shard (the cut needs every host's clip counts)")
    with DirLock(cfg.out, "download folder"):  # one process per folder
        claim_plan(jobs, cfg)
        save_plan(jobs, cfg)
        return _download(jobs, cfg)


def _download(jobs: list[VideoJob], cfg: DownloadConfig) -> AssemblyResult:
    """``run_download`` inside the folder lock, once the plan is claimed."""
    from tqdm import tqdm

    jobs = [j for j in jobs if in_shard(j.key, cfg.shard)]
    (cfg.out / "clips").mkdir(exist_ok=True)
    for pattern in (".*.tmp", "s2s-audio-*.f32"):  # left by a killed run: staged shards, decode scratch files
        for tmp in (cfg.out / "clips").glob(pattern):
            tmp.unlink(missing_ok=True)
    store = StateStore(cfg.out / "state")
    states = {j.key: st for j in jobs if (st := store.load(j.key)) is not None}
    pacer = Pacer(cfg.fetch.sleep, cfg.fetch.backoff, cfg.fetch.max_sleep)
    pending: dict[Future, VideoJob] = {}
    nxt = 0
    bar = tqdm(total=len(jobs), desc="videos", unit="video", disable=not cfg.progress)
    with ThreadPoolExecutor(max(1, cfg.workers)) as ex:
        try:
            while True:
                cut = _cutoff(jobs, states, cfg.max_clips)
                limit = len(jobs) if cut is None else cut
                while nxt < limit and len(pending) < 2 * max(1, cfg.workers):
                    job, nxt = jobs[nxt], nxt + 1
                    if job.key in states and states[job.key].final:
                        bar.update(1)
                        continue
                    pending[ex.submit(process_video, job, cfg, pacer, store, states.get(job.key))] = job
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    job = pending.pop(fut)
                    states[job.key] = fut.result()
                    bar.update(1)
                ok = sum(r.status == "ok" for st in states.values() for r in st.rows)
                bar.set_postfix(ok=ok, spacing=f"{pacer.interval:.1f}s")
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
        finally:
            bar.close()
    cut = _cutoff(jobs, states, cfg.max_clips)
    used = jobs[: len(jobs) if cut is None else cut]
    return assemble(used, states, cfg, pacer_peak=pacer.peak)
