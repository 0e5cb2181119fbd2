"""``python -m atomig.cli``."""

from atomig.cli.main import main

main()
