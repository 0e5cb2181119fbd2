"""What a migration does to a view's columns: the columns a view has now (history, else the
live catalog), and what dropping a view the same migration creates again costs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from atomig.lint.finding import Hit
from atomig.lint.schema import key_of
from atomig.lint.schema_views import output_columns
from atomig.sql.classify import range_var
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement

if TYPE_CHECKING:
    from atomig.lint.context import LintContext

Columns = tuple[str | None, ...]


def view_columns_now(name: QualifiedName, ctx: LintContext) -> Columns | None:
    """The view's columns: as the history left it, else (not created, dropped or renamed
    by the history) as the live catalog has it."""
    schema = ctx.schema
    view = schema.views.get(key_of(name))
    if view is not None:
        return None if view.materialized else view.columns
    if ctx.catalog is None or schema.dropped("relation", name):
        return None
    if schema.creator("relation", name) is not None:
        return None  # a table, or a view whose columns the history could not follow
    first = schema.renamed_from.get(key_of(name), name)
    return ctx.catalog.columns_of_view(first.schema, first.name)


def recreated_view(
    stmt: Statement, name: QualifiedName | None, ctx: LintContext
) -> Hit | None:
    """The finding for ``DROP VIEW name`` when a later statement of the migration creates
    the view again (``None`` for another drop, when none does, or when either column list
    is unknown).

    The usual advice, "CREATE OR REPLACE to change it", holds only when the new query
    keeps the view's columns and adds at the end: PostgreSQL rejects a replace that drops,
    renames or moves one (view-column-change), and so the drop is how such a change is
    written; what breaks then is code reading the columns that go.
    """
    if name is None or stmt.body.get("removeType") != "OBJECT_VIEW":
        return None
    again = next(
        (
            later
            for later in ctx.script.statements[stmt.index + 1 :]
            if later.kind == "ViewStmt"
            and (made := range_var(later.body.get("view"))) is not None
            and key_of(made) == key_of(name)
        ),
        None,
    )
    old = view_columns_now(name, ctx) if again is not None else None
    new = output_columns(ctx.schema, again.body) if again is not None else None
    if old is None or new is None or None in old or None in new[: len(old)]:
        return None
    grants = (
        "the drop takes the view's grants, and views reading it must be dropped first"
    )
    if new[: len(old)] == old:
        return Hit(
            f"view {name} is dropped and created again: {grants}; its readers wait on "
            "the drop's ACCESS EXCLUSIVE lock until the migration commits",
            f"write CREATE OR REPLACE VIEW {name} AS … instead of DROP and CREATE: the new "
            "query keeps its columns in place and adds the new ones at the end, which "
            "PostgreSQL accepts in place (grants and reading views stay)",
            relation=name,
        )
    gone = [str(column) for column in old if column not in new]
    change = (
        f"without {', '.join(gone)}" if gone else "with its columns renamed or moved"
    )
    them = "it" if len(gone) == 1 else "them"
    return Hit(
        f"view {name} is dropped and created again {change}: code reading {them} from it "
        f"fails once this commits ({grants})",
        f"stop reading {them} from {name} first (deploy), then change the view; or create "
        f"the new view under another name, move readers to it and drop {name} in a later "
        "migration (CREATE OR REPLACE cannot drop, rename or move a view's column); give "
        "its grants again after CREATE VIEW",
        relation=name,
    )
