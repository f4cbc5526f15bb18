"""``python -m neurosim``: the command line."""

from .cli import main

main()
