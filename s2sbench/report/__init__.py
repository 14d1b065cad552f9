"""Reporting: ``results`` defines ``RunResult`` (the one record every table reads), ``columns`` reads the report
columns from the ``METRICS`` registry, ``tables`` prints Tables 1-4 beside the paper's own numbers
(``paper_results.csv``, labelled as paper numbers), ``plots`` draws the curves and diversity plots, ``leaderboard``
writes the published CSVs, and ``board`` runs the leaderboard's set of runs. Sections, titles and frames come from
the dataset table; no report lists dataset or metric names of its own.
"""
