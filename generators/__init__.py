"""Dataset sources: each module turns a source (a synthesizer or a downloader) into ``s2sbench.data.clip.Clip`` records."""
