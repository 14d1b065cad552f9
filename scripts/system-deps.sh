#!/usr/bin/env bash
# System packages the project uses: Debian's ffmpeg (with ffprobe, for yt-dlp and media.py), chromium (browser
# tests of the study page), and two packages whose files are real recordings for the downloader tests
# (s2sbench/download/realmedia.py): opencv-doc (box.mp4: camera footage with its sound) and hydrogen-data (the
# GMRockKit drum samples: a recorded snare hit). Installed with apt-get when missing and when we are root on a Debian-like system;
# elsewhere it prints what is missing and carries on (media.py then falls back to imageio-ffmpeg's ffmpeg, and the
# browser tests skip with that reason).
set -u
missing=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -f /usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz ] || missing+=(opencv-doc)
[ -f /usr/share/hydrogen/data/drumkits/GMRockKit/Snare-Hardest.wav ] || missing+=(hydrogen-data)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || echo "warning: apt-get install ${missing[*]} failed; dependent tests will skip"
else
  echo "note: not installed: ${missing[*]} (install them with your package manager; dependent tests will skip)"
fi
exit 0
