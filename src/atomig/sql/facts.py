"""Per-statement facts derived from the parse tree: relations and the locks taken on them,
whether the statement may run inside a transaction block on a given server version, and
whether it is transaction control. Typed values only: no pglast types leave this package.

The lock table follows the PostgreSQL docs (explicit-locking.html, the ALTER TABLE page) and
``AlterTableGetLockLevel`` in ``tablecmds.c``; tests confirm it against real servers by reading
``pg_locks``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from atomig.sql.locks import LockMode


@dataclass(frozen=True, slots=True, order=True)
class QualifiedName:
    """A possibly schema-qualified object name, exactly as written (case preserved).

    >>> str(QualifiedName("public", "orders"))
    'public.orders'
    >>> str(QualifiedName(None, "Order Items"))
    '"Order Items"'
    """

    schema: str | None
    name: str

    def __str__(self) -> str:
        parts = [self.name] if self.schema is None else [self.schema, self.name]
        return ".".join(_quote_ident(part) for part in parts)


_SIMPLE_IDENT = re.compile(r"[a-z_][a-z0-9_]*")


def _quote_ident(name: str) -> str:
    # Lower-case ASCII names print bare; anything else is double-quoted.
    if _SIMPLE_IDENT.fullmatch(name):
        return name
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class RelationLock:
    """A table-level lock a statement takes on one relation."""

    relation: QualifiedName
    mode: LockMode


class TransactionControl(Enum):
    """Transaction-control statements, which the planner turns into step boundaries."""

    BEGIN = "begin"
    COMMIT = "commit"
    ROLLBACK = "rollback"
    SAVEPOINT = "savepoint"
    RELEASE = "release"
    ROLLBACK_TO = "rollback_to"
    PREPARE = "prepare"
    COMMIT_PREPARED = "commit_prepared"
    ROLLBACK_PREPARED = "rollback_prepared"


@dataclass(frozen=True, slots=True)
class StatementFacts:
    """What a statement does to the server, as far as its text tells.

    Attributes:
        locks: the strongest lock per relation the statement is known to take.
        transactional: it may run inside a transaction block on the given server version.
        no_transaction_reason: why not, when ``transactional`` is false.
        transaction_control: set for BEGIN/COMMIT/ROLLBACK/SAVEPOINT/… statements.
        concurrent: the statement is a CONCURRENTLY variant.
        creates: relations (tables, indexes, views, sequences) the statement creates.
        rewrites: relations the statement rewrites (a new ``relfilenode``: every row copied
            under its lock), as far as the text alone tells on this server version.
        may_rewrite: relations it rewrites unless their current state says otherwise (a
            column type change is free when the old type is binary-coercible; a default is
            free when its function is not volatile). Decided by lint with schema knowledge.
        scans: relations read in full under the statement's lock (a constraint validated,
            ``SET NOT NULL`` checked, an index built, a partition's bound checked).
    """

    locks: tuple[RelationLock, ...] = ()
    transactional: bool = True
    no_transaction_reason: str | None = None
    transaction_control: TransactionControl | None = None
    concurrent: bool = False
    creates: tuple[QualifiedName, ...] = ()
    rewrites: tuple[QualifiedName, ...] = ()
    may_rewrite: tuple[QualifiedName, ...] = ()
    scans: tuple[QualifiedName, ...] = ()

    def strongest_lock(self) -> LockMode | None:
        """The strongest lock mode over all relations, if any."""
        return max((lock.mode for lock in self.locks), default=None)

    def lock_on(self, relation: QualifiedName) -> LockMode | None:
        """The mode taken on ``relation`` (compared by name), if any."""
        for lock in self.locks:
            if lock.relation == relation:
                return lock.mode
        return None
