"""sql-gen: safe migrations for common changes, written as timestamped up/down pairs.

One module per change kind; each turns a typed request (and, with a database, the catalog)
into a :class:`~atomig.gen.model.Series` of phases — one migration per deployment when the
safe pattern spans deployments (expand now, contract later). Pure: no database, no files.
"""

from __future__ import annotations

from types import ModuleType

from atomig.gen import (
    add_check,
    add_column,
    add_enum_value,
    add_foreign_key,
    add_index,
    add_unique,
    backfill,
    change_column_type,
    drop_column,
    rename_column,
    set_not_null,
)
from atomig.gen.model import CatalogView, GenContext, Needs, Phase, Series

GENERATORS: dict[str, ModuleType] = {
    module.KIND: module
    for module in (
        add_column,
        add_index,
        add_foreign_key,
        add_check,
        set_not_null,
        add_unique,
        change_column_type,
        rename_column,
        drop_column,
        add_enum_value,
        backfill,
    )
}

__all__ = ["GENERATORS", "CatalogView", "GenContext", "Needs", "Phase", "Series"]
