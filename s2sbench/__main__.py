"""``python -m s2sbench`` is the ``s2sbench`` command."""
from s2sbench.cli import main

main()
