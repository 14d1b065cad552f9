"""Human preference study (the paper's Table 4): raters compare two models' generated videos side by side.

``render`` builds a study directory from two run directories (pairs of MP4s plus ``study.db``), ``store`` is its
SQLite database (pairs, raters, votes), ``server`` the small web app raters and the admin use, ``tally`` the
statistics (preference share, Wilson interval, exact binomial test, rater agreement) in the form of Table 4.
"""
