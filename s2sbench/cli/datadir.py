"""``s2sbench verify DIR``, ``s2sbench info DIR`` and ``s2sbench preview DIR``: inspect any dataset directory."""
from __future__ import annotations

from pathlib import Path

import click


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def summary_lines(index, root: Path) -> list[str]:
    """Human-readable summary of a dataset directory: source, spec, clips and bytes per split, index sha256."""
    from s2sbench.data.shards import summary

    s = summary(index, root)
    spec, src = index.spec, index.source
    lines = []
    if src:
        keys = ("dataset", "generator", "variant", "law", "seed")
        lines.append("source: " + ", ".join(f"{k} {src[k]}" for k in keys if k in src))
    lines.append(f"spec: {spec.num_frames} frames of {spec.height}x{spec.width}x{spec.channels} at {spec.fps} fps, "
                 f"mono audio {spec.sample_rate} Hz ({spec.samples_per_frame} samples/frame)")
    for split, v in s["splits"].items():
        lines.append(f"  {split:6s} {v['clips']:7d} clips in {v['shards']:3d} shard(s) {_mb(v['bytes']):>10s}")
    clips = sum(v["clips"] for v in s["splits"].values())
    lines.append(f"  total  {clips:7d} clips in {len(index.shards):3d} shard(s) {_mb(s['bytes']):>10s} on disk "
                 f"(raw frames {_mb(s['raw_frame_bytes'])})")
    lines.append(f"index sha256: {s['index_sha256']}")
    return lines


@click.command("verify")
@click.argument("root", type=click.Path(path_type=Path))
def verify_cmd(root: Path) -> None:
    """Check every shard of ROOT (presence, size, sha256, spec, shapes); exit 1 on any problem."""
    from s2sbench.data.shards import ShardIndex

    index = ShardIndex.load(root)
    problems = index.verify(root)
    for p in problems:
        click.echo(p, err=True)
    if problems:
        raise click.ClickException(f"{root}: {len(problems)} problem(s) in {len(index.shards)} shard(s)")
    click.echo(f"ok {root}: {len(index.shards)} shard(s), {sum(index.splits().values())} clips verified")


@click.command("info")
@click.argument("root", type=click.Path(path_type=Path))
def info_cmd(root: Path) -> None:
    """Counts, spec, sizes and index sha256 of the dataset in ROOT."""
    from s2sbench.data.shards import ShardIndex

    click.echo(f"{root}")
    for line in summary_lines(ShardIndex.load(root), root):
        click.echo(line)


def write_preview(root: Path, split: str, index: int, out: Path, scale: int | None = None) -> tuple[Path, str]:
    """Encode clip ``index`` of ``split`` to ``out`` (.mp4 with its audio, or .gif); return the path and a caption."""
    from s2sbench.data.loader import ClipDataset
    from s2sbench.errors import ConfigError
    from s2sbench.media import write_video

    ds = ClipDataset(root, split, audio_features="raw")
    if not 0 <= index < len(ds):
        raise ConfigError(f"--index {index}: split {split!r} of {root} has clips 0..{len(ds) - 1}")
    clip = ds.clip(index)
    spec = ds.spec
    scale = scale or max(1, -(-192 // max(spec.height, spec.width)))  # at least 192 px on the long side
    write_video(out, clip.frames, spec.fps, audio=clip.audio, sample_rate=spec.sample_rate, scale=scale)
    meta = clip.meta
    caption = f"{clip.id}: {spec.num_frames} frames, {spec.num_frames / spec.fps:.1f} s"
    if "label" in meta:
        caption += f", digit {meta['label']}, {len(meta.get('bounces', []))} bounce(s)"
    if meta.get("block"):
        caption += f", block {meta['block']['box']} from frame {meta['block']['first_frame']} (0-based)"
    return out, caption


@click.command("preview")
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--split", default="test", show_default=True)
@click.option("--index", "index", type=click.IntRange(min=0), default=0, show_default=True, help="Clip number.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output .mp4 (video with its audio) or .gif [default: <root name>-<split>-<index>.mp4].")
@click.option("--scale", type=click.IntRange(min=1), default=None,
              help="Enlarge frames by this factor [default: to at least 192 px].")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
def preview_cmd(root: Path, split: str, index: int, out: Path | None, scale: int | None, overwrite: bool) -> None:
    """Write one clip of ROOT as a video with its sound (MP4) or as a GIF."""
    from s2sbench.safety.claims import claim_files

    out = out if out is not None else Path(f"{root.name}-{split}-{index:06d}.mp4")
    claim_files({out: None}, overwrite)
    path, caption = write_preview(root, split, index, out, scale)
    click.echo(f"wrote {path} ({caption})")


COMMANDS = [verify_cmd, info_cmd, preview_cmd]
