"""Migrations on disk: discovery, pairing, ordering, directives and checksums. Pure: no database."""

from atomig.source.layout import discover_migrations, find_migration
from atomig.source.model import Directives, Migration, MigrationFile, MigrationId

__all__ = [
    "Directives",
    "Migration",
    "MigrationFile",
    "MigrationId",
    "discover_migrations",
    "find_migration",
]
