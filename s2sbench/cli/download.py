"""``s2sbench download audioset-drums|youtube-painting``: fetch, cut and shard the two real-video datasets."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from s2sbench.optional import require

YOUTUBE = "https://www.youtube.com/watch?v={ytid}"


def _common(f):
    opts = [
        click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Dataset directory (raw/, clips/, state/, manifest.csv, shards/). "
                          "Default: $S2SBENCH_DATA/<dataset>."),
        click.option("--url-template", default=YOUTUBE, show_default=True,
                     help="Video URL for an id; {ytid} is replaced (point it at a mirror or a test server)."),
        click.option("--workers", default=4, show_default=True, help="Videos processed in parallel."),
        click.option("--max-clips", type=int, default=None, help="Use only the first N listed clips (list order)."),
        click.option("--sleep", default=1.0, show_default=True,
                     help="Minimum seconds between two fetch starts (all workers); grows after rate limiting."),
        click.option("--retries", default=5, show_default=True, help="Retries per video for transient failures."),
        click.option("--backoff", default=5.0, show_default=True,
                     help="Seconds before the first retry; doubles with each further retry."),
        click.option("--cookies", type=click.Path(dir_okay=False, exists=True), default=None,
                     help="Netscape cookie file for yt-dlp (YouTube's bot check)."),
        click.option("--keep-list", type=click.Path(dir_okay=False, exists=True), default=None,
                     help="File of clip ids (<ytid>_<start_ms>) approved by a person; only these are published."),
        click.option("--seed", default=0, show_default=True, help="Seed of the split assignment."),
        click.option("--split-sizes", default=None,
                     help="train,val,test clip counts to aim for (default: the paper's), scaled to what is obtained."),
        click.option("--clips-per-shard", default=128, show_default=True, help="Clips per HDF5 shard file."),
        click.option("--keep-raw/--no-keep-raw", default=True, show_default=True,
                     help="Keep the downloaded files in DIR/raw after cutting."),
        click.option("--format", "fmt", default=None,
                     help="yt-dlp format selector (default: smallest stream >= 64 px)."),
        click.option("--shard", default=None, metavar="I/N",
                     help="Process only share I of N of the videos (split by video id), for several hosts; join "
                          "their folders with `s2sbench download merge`."),
        click.option("--overwrite", is_flag=True,
                     help="Replace the finished dataset in --out when these options (seed, keep-list, videos, ...) "
                          "differ from the ones that built it; downloaded videos are reused."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _config(dataset: str, o: dict, source: dict):
    from s2sbench.data.datasets import DATASETS
    from s2sbench.download.fetch import FetchConfig
    from s2sbench.download.jobs import DownloadConfig
    from s2sbench.download.manifest import read_keep_list
    from s2sbench.download.merge import parse_shard

    info = DATASETS.get(dataset)
    fetch = FetchConfig(retries=o["retries"], backoff=o["backoff"], sleep=o["sleep"], cookies=o["cookies"])
    if o["fmt"]:
        fetch.format = o["fmt"]
    sizes = info.sizes  # the paper's
    if o["split_sizes"]:
        try:
            sizes = tuple(int(x) for x in o["split_sizes"].split(","))
            assert len(sizes) == 3 and min(sizes) >= 0 and sum(sizes) > 0
        except (ValueError, AssertionError):
            raise click.BadParameter("expected three counts like 6000,1000,1000", param_hint="--split-sizes") from None
    return DownloadConfig(out=o["out"] or info.default_dir(), spec=info.spec, fetch=fetch, workers=o["workers"],
                          max_clips=o["max_clips"], keep=read_keep_list(o["keep_list"]) if o["keep_list"] else None,
                          seed=o["seed"], split_sizes=dict(zip(("train", "val", "test"), sizes)),
                          keep_raw=o["keep_raw"], clips_per_shard=o["clips_per_shard"],
                          source={"dataset": dataset, **source}, progress=not o["quiet"],
                          shard=parse_shard(o["shard"]) if o["shard"] else None, overwrite=o["overwrite"])


def _run(jobs, cfg) -> None:
    from s2sbench.download.pipeline import run_download

    if not jobs:
        raise click.ClickException("nothing to download: no video matches (check --labels / --keep-list)")
    click.echo(f"{len(jobs)} videos -> {cfg.out}")
    result = run_download(jobs, cfg)
    _report(result, cfg.out)


def _report(result, out: Path) -> None:
    """The summary table; a dataset without a clip is an error naming why the clips failed (exit 1)."""
    from s2sbench.errors import ToolError

    click.echo(result.table())
    click.echo(f"manifest: {out / 'manifest.csv'}\nshards:   {out / 'shards'}")
    if not result.index.shards:
        failed = Counter(r.status for r in result.rows)
        why = ", ".join(f"{n} {s}" for s, n in sorted(failed.items())) or "nothing listed"
        raise ToolError(f"{out}: no clip was obtained ({why}); {out / 'manifest.csv'} says why each failed: check "
                        f"the network, --cookies or --url-template and rerun the same command (finished videos are "
                        f"kept)")


@click.group("download")
def download() -> None:
    """Download AudioSet-Drums or YouTube-Painting into HDF5 shards (resumable: re-run to continue)."""


@download.command("audioset-drums")
@click.option("--segments", "segments", multiple=True, required=True,
              help="AudioSet segment CSV, path or URL (repeatable), e.g. unbalanced_train_segments.csv.")
@click.option("--labels", default="/m/026t6", show_default=True,
              help="Comma-separated AudioSet label ids to keep (default: Drum).")
@click.option("--clips-per-segment", default=1, show_default=True,
              help="Non-overlapping 3 s clips cut from each segment, from its start.")
@click.option("--pad", default=1.0, show_default=True, help="Seconds fetched before and after each segment's clips.")
@_common
def audioset_drums(segments, labels, clips_per_segment, pad, **o) -> None:
    """AudioSet segments with a Drum label, as 3 s 64x64 30 fps clips with 22050 Hz mono audio."""
    require("yt_dlp", "download")  # before any work: one line naming the extra if it is missing
    from s2sbench.generators.audioset_drums import drum_jobs, read_segments

    segs = [s for src in segments for s in read_segments(src)]
    label_set = {x.strip() for x in labels.split(",") if x.strip()}
    cfg = _config("audioset-drums", o, {"segments": list(segments), "labels": sorted(label_set),
                                        "clips_per_segment": clips_per_segment, "pad": pad})
    _run(drum_jobs(segs, label_set, o["url_template"], clips_per_segment, pad, keep=cfg.keep), cfg)


@download.command("youtube-painting")
@click.option("--playlist", "playlists", multiple=True,
              help="Playlist URL (repeatable); default: the paper's painting playlist.")
@click.option("--max-per-video", default=40, show_default=True, help="At most this many 3 s clips per video.")
@click.option("--margin", default=10.0, show_default=True, help="Seconds skipped at the start and end of each video.")
@_common
def youtube_painting(playlists, max_per_video, margin, **o) -> None:
    """Painting videos cut into 3 s 64x64 30 fps clips with 22050 Hz mono audio (rule: docs/datasets.md)."""
    require("yt_dlp", "download")
    from s2sbench.generators.youtube_painting import PAPER_PLAYLIST, WindowRule, painting_jobs

    playlists = list(playlists) or [PAPER_PLAYLIST]
    rule = WindowRule(margin=margin, max_per_video=max_per_video)
    cfg = _config("youtube-painting", o, {"playlists": playlists, "margin": margin, "max_per_video": max_per_video})
    _run(painting_jobs(playlists, o["url_template"], rule, o["cookies"], keep=cfg.keep), cfg)


@download.command("merge")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="New dataset folder for the merged states, shards and manifest.")
@click.option("--overwrite", is_flag=True, help="Replace a finished dataset of other options in --out.")
def merge_cmd(dirs, out, overwrite) -> None:
    """Merge the folders of a download run as --shard 1/N .. N/N into one dataset (same as a single-host run)."""
    from s2sbench.download.merge import merge

    _report(merge(list(dirs), out, overwrite=overwrite), out)


COMMANDS = [download]
