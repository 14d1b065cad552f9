"""Dataset sources: each module turns a source (a synthesizer or a downloader) into ``s2sbench.clip.Clip`` records."""
