"""add-unique: a UNIQUE constraint without blocking writes — a unique index built
``CONCURRENTLY``, then ``ADD CONSTRAINT uq_… UNIQUE USING INDEX`` (a catalog change).

If existing rows hold duplicates, the build fails; atomig drops the INVALID index it left
and the down file runs: nothing half-done remains. Find duplicates first with
``SELECT cols, count(*) FROM t GROUP BY cols HAVING count(*) > 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

from atomig.gen import add_index
from atomig.gen.model import GenContext, Needs, Series

KIND = "add-unique"
SUMMARY = "Add a UNIQUE constraint: unique index CONCURRENTLY, then USING INDEX."
Request = add_index.Request


def request(
    table: str, columns: Sequence[str], *, name: str | None = None
) -> add_index.Request:
    """The request from command-line text."""
    return add_index.request(table, columns, unique=True, constraint=True, name=name)


def needs(req: add_index.Request) -> Needs:
    """The table to read from the catalog."""
    return add_index.needs(req)


def generate(req: add_index.Request, ctx: GenContext) -> Series:
    """One phase: the concurrent unique build and the promotion."""
    series = add_index.generate(req, ctx)
    return Series(KIND, series.phases, series.notes)
