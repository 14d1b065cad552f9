"""Dataset sources: each module turns a source (a synthesizer or a downloader) into ``s2sbench.data.clip.Clip`` records.
Each is registered in ``s2sbench.data.sources.SOURCES``, which the dataset table's entries name."""
