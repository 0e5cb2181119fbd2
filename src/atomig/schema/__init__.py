"""The schema as data: what `atomig describe` and `atomig schema` show. Pure (no database)."""

from atomig.schema.model import (
    Column,
    Constraint,
    Domain,
    EnumType,
    Function,
    Index,
    SchemaModel,
    Sequence,
    Table,
    Trigger,
    View,
)
from atomig.schema.render import render_schema, render_table

__all__ = [
    "Column",
    "Constraint",
    "Domain",
    "EnumType",
    "Function",
    "Index",
    "SchemaModel",
    "Sequence",
    "Table",
    "Trigger",
    "View",
    "render_schema",
    "render_table",
]
