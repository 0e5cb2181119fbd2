"""atomig: atomic, zero-downtime, reversible PostgreSQL schema and data migrations.

The library API lives in :mod:`atomig.api`; this package re-exports its verbs lazily so that
importing ``atomig`` stays cheap. A verb named like a subpackage (``plan``) is not re-exported
here: importing ``atomig.plan`` sets this package's attribute to the subpackage, hiding the
verb; use ``atomig.api.plan``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "accept_edit",
    "backfill",
    "diff_applied",
    "init_project",
    "load_settings",
    "migrate",
    "new_migration",
    "rollback",
    "status",
]


def __getattr__(name: str) -> Any:
    if name == "load_settings":
        from atomig.config import load_settings

        return load_settings
    if name in __all__:
        from atomig import api

        return getattr(api, name)
    raise AttributeError(f"module 'atomig' has no attribute {name!r}")
