"""``python -m s2sbench`` is the ``s2sbench`` command."""
from .cli import main

main()
