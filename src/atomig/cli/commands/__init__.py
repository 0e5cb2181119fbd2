"""One module per command area; importing a module registers its commands."""
