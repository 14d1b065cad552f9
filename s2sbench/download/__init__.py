"""Download: the path from a YouTube/AudioSet id to stored clips. ``fetch`` runs yt-dlp (retries, pacing, windowed
fetches), ``media`` is the one place that runs ffmpeg/ffprobe (probe, exact decode, encode), ``quality`` rejects
short, black, frozen or silent clips, ``manifest`` keeps each video's resumable state, ``pipeline`` drives a
download, and ``assemble`` turns the finished videos into shards and ``manifest.csv``. ``testvideos`` builds media for
tests and benchmarks.
"""
