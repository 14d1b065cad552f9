"""Data: the ``Clip`` record and its dataset-wide ``ClipSpec`` (``clip``), the HDF5 shards every source writes and
their checksummed ``index.json`` (``shards``), the ``SOURCES`` registry of synthesizers and downloaders
(``sources``), the dataset table that names each benchmark's spec, protocol, report frames, paper table, block and
source (``datasets``), the per-frame audio features (``audio``), the loader that turns shards into training and
test ``Batch`` es with each clip's ``meta`` (``loader``) and ``Data``, a dataset opened once by the runner and handed
to the trainer, the evaluator and the reference predictors (``handle``). Sources (``s2sbench.generators``) write
here; models read from here, through ``Data``.
"""
