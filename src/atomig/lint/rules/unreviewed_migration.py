"""A migration no human has approved as its files are now (the review gate).

## Why
Generated or hand-written, a migration runs against production: a second pair of eyes on
the exact SQL is the last defence against a table rewrite, a lock held too long or a
dropped column that code still reads. With `require_review = true` (per environment),
`atomig up` refuses a migration that is unreviewed, or edited after its review.

## Instead
Review the up and down files, then record it: `atomig review approve VERSION --by NAME`
(it writes the files' checksums, the reviewer and the time to `migrations/atomig.reviewed`;
commit that file with the migrations). `atomig review status` lists what is open.

## Notes
Reported only in projects that use the gate (a `migrations/atomig.reviewed` file exists or
`require_review` is set), from that file, once per migration, on its up file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from atomig.lint.context import LintContext
from atomig.lint.finding import Finding, Hit, Severity
from atomig.lint.rule import Example
from atomig.source.checksum import accepted_checksums
from atomig.source.review import Approval, review_state
from atomig.sql.parse import Statement

ID = "unreviewed-migration"
SEVERITY = Severity.INFO
CATEGORY = "meta"
BAD = (Example("CREATE TABLE carts (id bigint PRIMARY KEY);", reviewed=False),)
GOOD = (Example("CREATE TABLE carts (id bigint PRIMARY KEY);", reviewed=True),)


def finish(ctx: LintContext) -> Iterator[tuple[Statement | None, Hit]]:
    # Review state is about the project, not the SQL: see review_findings().
    return iter(())


def review_findings(
    migrations: Sequence[object], approvals_for: Callable[[Path], Sequence[Approval]]
) -> Iterator[Finding]:
    """A finding on the up file of every migration not reviewed as it is now.

    ``migrations`` are :class:`atomig.lint.engine.MigrationSource` values;
    ``approvals_for`` reads the approvals of a migrations directory.
    """
    for migration in migrations:
        up = getattr(migration, "up", None)
        down = getattr(migration, "down", None)
        if up is None or "up" not in getattr(migration, "report", ("up",)):
            continue
        name = str(getattr(migration, "name", ""))
        approvals = approvals_for(Path(up.path).parent)
        state = review_state(
            name,
            accepted_checksums(up.text),
            accepted_checksums(down.text if down is not None else ""),
            approvals,
        )
        if state.ok:
            continue
        yield Finding(
            ID,
            SEVERITY,
            up.path,
            1,
            1,
            1,
            1,
            f"{name}: {state.describe()}",
            f"review it, then: atomig review approve {name} --by NAME",
        )
