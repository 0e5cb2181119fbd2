"""``python -m atomig``."""

from atomig.cli.main import main

main()
