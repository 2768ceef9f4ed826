"""``python -m socialsell``."""

from socialsell.cli import main

main()
