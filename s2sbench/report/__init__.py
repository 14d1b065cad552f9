"""Reporting: ``results`` defines ``RunResult`` (the one record every table reads), ``tables`` prints Tables 1-4
beside the paper's own numbers (``paper_results.csv``, labelled as paper numbers), ``plots`` draws the curves and
diversity plots, ``leaderboard`` writes the published CSVs, and ``board`` runs the leaderboard's set of runs.
"""
