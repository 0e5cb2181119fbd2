"""The server side of bench/lint_hazards.py: each case's label checked on PostgreSQL.

History applied, then the migration in a transaction (statement by statement outside one
when atomig's runner would not wrap it) with ``pg_locks`` read after each statement,
``pg_class.relfilenode`` compared (tables rewritten, indexes rebuilt), the ``verifying
table`` DEBUG1 message of ATRewriteTable caught (scans), an error expected for "rejects".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from _hazards import BLOCKS_ALL, BLOCKS_WRITES, REJECTS, REWRITE, SAFE, SCAN, Case

from atomig.errors import SourceError
from atomig.sql.parse import parse_script

LOCK_RANK = {
    "AccessShareLock": 1,
    "RowShareLock": 2,
    "RowExclusiveLock": 3,
    "ShareUpdateExclusiveLock": 4,
    "ShareLock": 5,
    "ShareRowExclusiveLock": 6,
    "ExclusiveLock": 7,
    "AccessExclusiveLock": 8,
}
NO_TRANSACTION = re.compile(r"\bCONCURRENTLY\b|^\s*VACUUM\b", re.I | re.M)
REFRESH_CONCURRENTLY = re.compile(r"REFRESH\s+MATERIALIZED\s+VIEW\s+CONCURRENTLY", re.I)


@dataclass
class Verdict:
    checked: str  # what was checked: "lock", "rewrite", "error", "applies", "-"
    agrees: bool | None
    observed: str


def statements_of(text: str) -> list | None:
    """The parsed statements, or None when atomig's parser (libpg_query) rejects the text."""
    try:
        return list(parse_script(text).statements)
    except SourceError:
        return None


def one_transaction(statements: list[str]) -> bool:
    """Whether atomig's runner applies these statements as one transaction step: not when
    one cannot run in a transaction (CONCURRENTLY, VACUUM) or the file has its own BEGIN
    / COMMIT (each block is then a step)."""
    return not any(
        (NO_TRANSACTION.search(s) and not REFRESH_CONCURRENTLY.search(s))
        or s.strip().upper().startswith(("BEGIN", "COMMIT", "START TRANSACTION"))
        for s in statements
    )


def held_locks(conn, before: dict) -> dict[str, int]:
    """The strongest lock this backend holds on each pre-existing relation."""
    held: dict[str, int] = {}
    for oid, mode in conn.execute(
        "SELECT relation::int, mode FROM pg_locks "
        "WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted"
    ):
        if oid in before:
            name = before[oid][0]
            held[name] = max(held.get(name, 0), LOCK_RANK[mode])
    return held


def split(text: str) -> list[str]:
    statements = statements_of(text)
    return [text] if statements is None else [s.text for s in statements]


def verify_case(server, number: int, case: Case, advice: Iterable[str]) -> tuple:
    """Check the label on the server; returns (Verdict, {advice: rejected?})."""
    import psycopg
    from psycopg.pq import TransactionStatus

    url = server.fresh_database(f"hazard_{number}")
    prep = [*case.history, case.sql] if case.target == "down" else list(case.history)
    sql_text = case.down if case.target == "down" else case.sql
    with psycopg.connect(url, autocommit=True) as conn:
        for script in prep:
            for statement in split(script):
                conn.execute(statement)
        conn.execute("ANALYZE")
        rows = _rows(conn)
        before = {oid: (name, node) for oid, name, node, kind in rows if kind != "i"}
        indexes = {oid: (name, node) for oid, name, node, kind in rows if kind == "i"}
    rejected_advice = {}
    for text in advice:
        with psycopg.connect(url) as conn:
            try:
                conn.execute(text)
                rejected_advice[text] = False
            except psycopg.Error:
                rejected_advice[text] = True
            conn.rollback()
    statements = split(sql_text or "")
    existing = {name for name, _ in before.values()}
    messages: list[str] = []
    error = None
    # The strongest lock held on each pre-existing relation, read after each statement
    # run inside a transaction (None: no statement ran in one, locks unread).
    locks: dict[str, int] | None = None
    scans: list[tuple[str, int | None]] = []  # (table, its lock then; None: unread)
    transactional = one_transaction(statements)
    with psycopg.connect(url, autocommit=not transactional) as conn:
        conn.add_notice_handler(lambda d: messages.append(d.message_primary or ""))
        conn.execute("SET client_min_messages = debug1")
        try:
            for statement in statements:
                start = len(messages)
                conn.execute(statement)
                held = None
                if conn.info.transaction_status == TransactionStatus.INTRANS:
                    held = held_locks(conn, before)
                    locks = locks or {}
                    for name, rank in held.items():
                        locks[name] = max(locks.get(name, 0), rank)
                for message in messages[start:]:
                    # DEBUG1 from ATRewriteTable: the table is read to check constraints.
                    if message.startswith("verifying table"):
                        name = message.split('"')[1]
                        if name in existing:
                            scans.append(
                                (name, None if held is None else held.get(name, 0))
                            )
        except psycopg.Error as exc:
            error = f"{type(exc).__name__}: {exc.diag.message_primary}"
            if transactional:
                conn.rollback()
            elif conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
        relations = {**before, **indexes}
        changed = [
            oid
            for oid, node in conn.execute(
                "SELECT oid::int, relfilenode::int FROM pg_class "
                "WHERE oid = ANY(%s::oid[])",
                [list(relations)],
            )
            if node and node != relations[oid][1]
        ]
        rewritten = sorted(before[oid][0] for oid in changed if oid in before)
        rebuilt = sorted(indexes[oid][0] for oid in changed if oid in indexes)
        # ALTER COLUMN TYPE recreates an index under the same name (a new oid): rebuilt
        # when its storage changed (an index it can reuse keeps its relfilenode).
        old_nodes = {name: (oid, node) for oid, (name, node) in indexes.items()}
        for oid, name, node, kind in _rows(conn):
            old_oid, old_node = old_nodes.get(name, (oid, node))
            if kind == "i" and old_oid != oid and old_node != node:
                rebuilt.append(name)
        if transactional:
            conn.rollback()
    if error is not None and not transactional:
        locks = None
    scanned = sorted({name for name, _ in scans})
    # A scan under a lock that blocks writes (stronger than SHARE UPDATE EXCLUSIVE); a
    # scan whose lock was not read counts as one.
    heavy = sorted({name for name, rank in scans if rank is None or rank > 4})
    verdict = judge(case, error, locks, rewritten, scanned, rebuilt, heavy)
    return verdict, rejected_advice


def _rows(conn):
    return conn.execute(
        "SELECT c.oid::int, c.relname, c.relfilenode::int, c.relkind::text FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'm', 'i')"
    ).fetchall()


def judge(case, error, locks, rewritten, scanned, rebuilt, heavy) -> Verdict:
    names = {v: k for k, v in LOCK_RANK.items()}
    strongest = max(locks.values(), default=0) if locks is not None else None
    parts = []
    if error:
        parts.append(error)
    if locks:
        top = max(locks, key=locks.get)
        parts.append(f"{names[locks[top]]} on {top}")
    if rewritten:
        parts.append("rewrote " + ", ".join(rewritten))
    if scanned:
        parts.append("scanned " + ", ".join(scanned))
    if rebuilt:
        parts.append("rebuilt index " + ", ".join(rebuilt))
    observed = "; ".join(parts) or "no lock kept, no rewrite"
    if case.label == REJECTS:
        return Verdict("error", error is not None, observed)
    if error is not None:
        return Verdict("applies", False, observed)
    if case.label == REWRITE:
        return Verdict("rewrite", bool(rewritten), observed)
    if case.label in (BLOCKS_WRITES, BLOCKS_ALL, SCAN):
        if strongest is None:
            return Verdict(
                "-", None, observed + " (not in a transaction: locks unread)"
            )
        need = LOCK_RANK[
            "ShareLock" if case.label == BLOCKS_WRITES else "AccessExclusiveLock"
        ]
        ok = strongest >= need and not (case.label == SCAN and rewritten)
        return Verdict("lock", ok, observed)
    if case.label == SAFE:
        # A scan or an index build under a lock that blocks writes is not safe; REINDEX
        # CONCURRENTLY (outside a transaction, locks unread) swaps in a new index.
        ok = not rewritten and not heavy and not (rebuilt and locks is not None)
        return Verdict("no rewrite/scan", ok, observed)
    return Verdict("applies", True, observed)
