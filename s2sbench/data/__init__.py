"""Data: the ``Clip`` record and its dataset-wide ``ClipSpec`` (``clip``), the HDF5 shards every source writes and
their checksummed ``index.json`` (``shards``), the ``SOURCES`` registry of synthesizers and downloaders
(``sources``), the dataset table that names each benchmark's spec, protocol, report frames, paper table, block and
source (``datasets``), the per-frame audio features (``audio``) and the loader that turns shards into training and
test ``Batch`` es (``loader``). Sources (``s2sbench.generators``) write here; models read from here.
"""
