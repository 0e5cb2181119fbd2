"""Cluster-wide objects a statement creates or drops by name: databases, tablespaces,
subscriptions. Pure.

PostgreSQL refuses these statements inside a transaction block (``CREATE DATABASE``,
``DROP DATABASE``, ``CREATE``/``DROP TABLESPACE``, a subscription with a replication slot),
so atomig sends each alone and it commits on its own. None of the CREATEs has ``IF NOT
EXISTS``: sent again after it finished unseen (the runner or its connection died before the
journal said so) it fails (``already exists``, SQLSTATE 42P04 or 42710; a DROP without ``IF
EXISTS``: ``does not exist``, 3D000 or 42704 — PG 15 and 18). The runner asks the catalog
whether the object is there (:mod:`atomig.run.unseen`).
"""

from __future__ import annotations

from dataclasses import dataclass

from atomig.sql.parse import Statement

DATABASE, TABLESPACE, SUBSCRIPTION = "database", "tablespace", "subscription"

# statement kind: (object kind, the body field naming it, creates it)
_CHANGES = {
    "CreatedbStmt": (DATABASE, "dbname", True),
    "DropdbStmt": (DATABASE, "dbname", False),
    "CreateTableSpaceStmt": (TABLESPACE, "tablespacename", True),
    "DropTableSpaceStmt": (TABLESPACE, "tablespacename", False),
    "CreateSubscriptionStmt": (SUBSCRIPTION, "subname", True),
    "DropSubscriptionStmt": (SUBSCRIPTION, "subname", False),
}


@dataclass(frozen=True, slots=True)
class SharedObjectChange:
    """A database, tablespace or subscription (``kind``) that a statement creates
    (``creates``) or drops, by its name as stored in the catalog."""

    kind: str
    name: str
    creates: bool

    def describe(self) -> str:
        """What the catalog shows once the statement finished.

        >>> SharedObjectChange(DATABASE, "reports", True).describe()
        'database reports exists'
        """
        return f"{self.kind} {self.name} {'exists' if self.creates else 'is dropped'}"


def shared_object_change(statement: Statement) -> SharedObjectChange | None:
    """The cluster-wide object ``statement`` creates or drops, if it is one of those.

    >>> from atomig.sql.parse import parse_script
    >>> [shared_object_change(s) for s in parse_script(
    ...     "CREATE DATABASE reports; DROP TABLESPACE IF EXISTS fast; SELECT 1")]
    ... # doctest: +NORMALIZE_WHITESPACE
    [SharedObjectChange(kind='database', name='reports', creates=True),
     SharedObjectChange(kind='tablespace', name='fast', creates=False), None]
    """
    change = _CHANGES.get(statement.kind)
    if change is None:
        return None
    kind, field, creates = change
    name = statement.body.get(field)
    return SharedObjectChange(kind, str(name), creates) if name else None
