"""ALTER TABLE (and ALTER INDEX/VIEW/MATERIALIZED VIEW/FOREIGN TABLE/SEQUENCE, which parse
as ALTER TABLE) → facts: the lock of each subcommand (``AlterTableGetLockLevel`` in
``tablecmds.c`` and the ALTER TABLE page), the rewrites and the scans, confirmed in pg_locks
and by relfilenode on PG 15 and 18 (tests/integration/test_lint_facts_trace.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from atomig.sql.facts import QualifiedName, RelationLock, StatementFacts
from atomig.sql.locks import LockMode
from atomig.sql.nodes import (
    Body,
    locks_of,
    no_transaction,
    range_var,
    type_relation,
)
from atomig.sql.parse import Statement
from atomig.sql.types import SERIAL_TYPES, using_keeps_column
from atomig.sql.versions import ServerVersion
from atomig.sql.volatility import Volatility, expression_volatility

_M = LockMode

_SHARE_UPDATE_EXCLUSIVE_CMDS = frozenset(
    {
        "AT_SetStatistics",
        "AT_SetOptions",
        "AT_ResetOptions",
        "AT_ValidateConstraint",
        "AT_ClusterOn",
        "AT_DropCluster",
        "AT_SetRelOptions",
        "AT_ResetRelOptions",
        "AT_DetachPartitionFinalize",
    }
)
# ENABLE / DISABLE TRIGGER in all its forms.
TRIGGER_TOGGLES = (
    "AT_EnableTrig",
    "AT_EnableAlwaysTrig",
    "AT_EnableReplicaTrig",
    "AT_EnableTrigAll",
    "AT_EnableTrigUser",
    "AT_DisableTrig",
    "AT_DisableTrigAll",
    "AT_DisableTrigUser",
)
_SHARE_ROW_EXCLUSIVE_CMDS = frozenset(TRIGGER_TOGGLES)


_RELOPTION_CMDS = frozenset({"AT_SetRelOptions", "AT_ResetRelOptions"})
# SET/RESET (…) takes the strongest lock of its options (reloptions.c lockmode): these
# take ACCESS EXCLUSIVE, the others (fillfactor, autovacuum_*, toast.*, parallel_workers,
# a btree's deduplicate_items …) SHARE UPDATE EXCLUSIVE (checked in pg_locks on PG 15, 18).
_EXCLUSIVE_RELOPTIONS = frozenset(
    {
        "security_barrier",
        "security_invoker",
        "check_option",
        "user_catalog_table",
        "buffering",  # GiST
        "fastupdate",  # GIN
        "gin_pending_list_limit",  # GIN
        "pages_per_range",  # BRIN
        "autosummarize",  # BRIN
    }
)


def _exclusive_reloption(definition: Body) -> bool:
    items = definition.get("List", {}).get("items", ())
    return any(
        (i.get("DefElem") or {}).get("defname") in _EXCLUSIVE_RELOPTIONS
        and not (i.get("DefElem") or {}).get("defnamespace")
        for i in items
    )


def foreign_key_targets(constraint: Body) -> QualifiedName | None:
    """The referenced table of a FOREIGN KEY ``Constraint`` dict, else ``None``."""
    if constraint.get("contype") == "CONSTR_FOREIGN":
        return range_var(constraint.get("pktable"))
    return None


_REWRITING_CMDS = frozenset(
    {"AT_SetLogged", "AT_SetUnLogged", "AT_SetTableSpace", "AT_SetAccessMethod"}
)


def column_constraints(coldef: Body) -> list[Body]:
    """The ``Constraint`` dicts of a ``ColumnDef`` dict."""
    return [c["Constraint"] for c in coldef.get("constraints", ()) if "Constraint" in c]


def identity_kind(coldef: Body) -> str:
    """The identity kind a ``ColumnDef`` dict declares, as ``pg_attribute.attidentity``:
    ``a`` (GENERATED ALWAYS), ``d`` (BY DEFAULT) or ``""`` (none)."""
    for con in column_constraints(coldef):
        if con.get("contype") == "CONSTR_IDENTITY":
            return str(con.get("generated_when") or "a")
    return ""


def identity_change(subtype: str, definition: Body) -> str | None:
    """The identity kind a column has after ``ADD GENERATED … AS IDENTITY``
    (``AT_AddIdentity``), ``SET GENERATED …`` (``AT_SetIdentity``) or ``DROP IDENTITY``
    (``AT_DropIdentity``), as :func:`identity_kind` gives it; ``None`` when the command
    leaves it as it was (``SET INCREMENT BY 2`` alone). ``definition`` is its ``def``."""
    if subtype == "AT_DropIdentity":
        return ""
    if subtype == "AT_AddIdentity":
        return str((definition.get("Constraint") or {}).get("generated_when") or "a")
    for item in (definition.get("List") or {}).get("items", ()):
        elem = item.get("DefElem", {})
        if elem.get("defname") == "generated":
            return chr(elem.get("arg", {}).get("Integer", {}).get("ival", ord("a")))
    return None


# A column constraint that makes ADD COLUMN read every row: a CHECK is evaluated on each
# row, UNIQUE and PRIMARY KEY build their index (checked by pg_stat_get_xact_numscans on
# PG 15 and 18). A FOREIGN KEY is checked only when the new column has a non-NULL default.
_SCANNING_COLUMN_CONSTRAINTS = frozenset(
    {"CONSTR_CHECK", "CONSTR_UNIQUE", "CONSTR_PRIMARY"}
)


def added_column_scans(coldef: Body) -> bool:
    """Whether ``ADD COLUMN coldef`` reads every existing row (rewrites aside).

    >>> from atomig.sql.parse import parse_script
    >>> def scans(sql):
    ...     body = parse_script(sql).statements[0].body
    ...     return added_column_scans(body["cmds"][0]["AlterTableCmd"]["def"]["ColumnDef"])
    >>> scans("ALTER TABLE t ADD COLUMN c int CHECK (c > 0)")
    True
    >>> scans("ALTER TABLE t ADD COLUMN c int REFERENCES p"), scans(
    ...     "ALTER TABLE t ADD COLUMN c int DEFAULT 1 REFERENCES p")
    (False, True)
    """
    constraints = column_constraints(coldef)
    defaulted = any(
        c.get("contype") == "CONSTR_DEFAULT"
        and not (c.get("raw_expr") or {}).get("A_Const", {}).get("isnull")
        for c in constraints
    )
    return any(
        c.get("contype") in _SCANNING_COLUMN_CONSTRAINTS
        or (c.get("contype") == "CONSTR_FOREIGN" and defaulted)
        for c in constraints
    )


def added_column_rewrites(coldef: Body, version: ServerVersion) -> bool | None:
    """Whether ``ADD COLUMN coldef`` rewrites the table: True, False, or None when it
    depends on the volatility of a function the builtin table does not know.

    serial types and identity columns fill every row from a sequence, and so do volatile
    defaults and stored generated columns; before PostgreSQL 11 any non-NULL default did.
    """
    type_name = coldef.get("typeName") or {}
    names = [n["String"]["sval"] for n in type_name.get("names", ()) if "String" in n]
    if names and names[-1] in SERIAL_TYPES and len(names) == 1:
        return True
    for constraint in column_constraints(coldef):
        contype = constraint.get("contype")
        if contype == "CONSTR_GENERATED" and constraint.get("generated_kind") == "v":
            continue  # VIRTUAL (PostgreSQL 18): computed when read, nothing stored
        if contype in ("CONSTR_IDENTITY", "CONSTR_GENERATED"):
            return True
        if contype == "CONSTR_DEFAULT":
            expr = constraint.get("raw_expr") or {}
            if "A_Const" in expr and expr["A_Const"].get("isnull"):
                return False
            if not version.fast_column_default:
                return True
            level, _ = expression_volatility(expr)
            if level is Volatility.UNKNOWN:
                return None
            return level is Volatility.VOLATILE
    return False


def enforces(definition: Body) -> bool:
    """An ``ALTER CONSTRAINT … ENFORCED`` (the ``def`` of its ``AlterTableCmd``)."""
    alter = definition.get("ATAlterConstraint") or {}
    return bool(alter.get("alterEnforceability") and alter.get("is_enforced"))


def alter_table_facts(body: Body, version: ServerVersion) -> StatementFacts:
    """The facts of an ``AlterTableStmt`` on a server of ``version``."""
    relation = range_var(body.get("relation"))
    pairs: list[tuple[QualifiedName | None, LockMode]] = []
    rewrites = may_rewrite = scans = False
    reason = None
    # Relations read in full besides the altered one (the partition being attached).
    scanned: list[QualifiedName | None] = []
    for item in body.get("cmds", ()):
        cmd = item.get("AlterTableCmd", {})
        subtype = cmd.get("subtype", "")
        definition = cmd.get("def") or {}
        mode = _M.ACCESS_EXCLUSIVE
        if subtype in _RELOPTION_CMDS and _exclusive_reloption(definition):
            pass  # a view's options, user_catalog_table, gist buffering: ACCESS EXCLUSIVE
        elif subtype in _SHARE_UPDATE_EXCLUSIVE_CMDS:
            mode = _M.SHARE_UPDATE_EXCLUSIVE
            scans = scans or subtype == "AT_ValidateConstraint"
        elif subtype in _SHARE_ROW_EXCLUSIVE_CMDS:
            mode = _M.SHARE_ROW_EXCLUSIVE
        elif subtype in _REWRITING_CMDS:
            # SET TABLESPACE copies the files rather than rewriting rows, but it is the same
            # hazard: a new relfilenode, written in full under ACCESS EXCLUSIVE.
            rewrites = True
        elif subtype == "AT_SetNotNull":
            scans = True
        elif subtype == "AT_AlterConstraint" and enforces(definition):
            # ALTER CONSTRAINT … ENFORCED (PG 18) validates an unenforced foreign key:
            # every row checked under ACCESS EXCLUSIVE (pg_locks, pg_stat on PG 18).
            scans = True
        elif subtype == "AT_SetExpression":
            # SET EXPRESSION (PG 17) recomputes a STORED column into a new relfilenode; a
            # VIRTUAL one (PG 18) stores nothing, and the text does not say which it is.
            if version.at_least(18):
                may_rewrite = True
            else:
                rewrites = True
        elif subtype == "AT_AlterColumnType":
            # USING col or USING col::new_type is decided as without USING.
            if using_keeps_column(
                definition.get("ColumnDef") or {}, cmd.get("name", "")
            ):
                may_rewrite = True
            else:
                rewrites = True
        elif subtype == "AT_AddConstraint":
            constraint = definition.get("Constraint", {})
            referenced = foreign_key_targets(constraint)
            if referenced is not None:
                mode = _M.SHARE_ROW_EXCLUSIVE
                pairs.append((referenced, _M.SHARE_ROW_EXCLUSIVE))
            if not constraint.get("skip_validation") and not constraint.get(
                "indexname"
            ):
                scans = scans or constraint.get("contype") in (
                    "CONSTR_CHECK",
                    "CONSTR_FOREIGN",
                    "CONSTR_PRIMARY",
                    "CONSTR_UNIQUE",
                    "CONSTR_EXCLUSION",
                    "CONSTR_NOTNULL",  # ADD CONSTRAINT … NOT NULL col (PG 18)
                )
        elif subtype == "AT_AddColumn":
            coldef = definition.get("ColumnDef", {})
            for constraint in column_constraints(coldef):
                referenced = foreign_key_targets(constraint)
                pairs.append((referenced, _M.SHARE_ROW_EXCLUSIVE))
            verdict = added_column_rewrites(coldef, version)
            scans = scans or added_column_scans(coldef)
            rewrites = rewrites or verdict is True
            may_rewrite = may_rewrite or verdict is None
        elif subtype in ("AT_AddInherit", "AT_DropInherit"):
            # The parent is read while the child is hooked up or unhooked (tablecmds.c
            # ATExecAddInherit / ATExecDropInherit; checked in pg_locks on PG 15 and 18).
            parent_mode = (
                _M.SHARE_UPDATE_EXCLUSIVE
                if subtype == "AT_AddInherit"
                else _M.ACCESS_SHARE
            )
            pairs.append((range_var(definition.get("RangeVar")), parent_mode))
        elif subtype == "AT_AddOf":
            # OF reads the composite type's relation (checked in pg_locks on PG 15, 18).
            pairs.append((type_relation(definition.get("TypeName")), _M.ACCESS_SHARE))
        elif subtype == "AT_AttachPartition":
            # Since PG 12 the parent only needs SHARE UPDATE EXCLUSIVE; the partition being
            # attached is locked ACCESS EXCLUSIVE and scanned unless a CHECK proves the bound.
            mode = (
                _M.SHARE_UPDATE_EXCLUSIVE
                if version.at_least(12)
                else _M.ACCESS_EXCLUSIVE
            )
            partition = range_var(definition.get("PartitionCmd", {}).get("name"))
            pairs.append((partition, _M.ACCESS_EXCLUSIVE))
            if body.get("objtype") != "OBJECT_INDEX":  # ALTER INDEX … ATTACH PARTITION
                scanned.append(partition)
        elif subtype == "AT_DetachPartition":
            partcmd = definition.get("PartitionCmd", {})
            partition = range_var(partcmd.get("name"))
            if partcmd.get("concurrent"):
                mode = _M.SHARE_UPDATE_EXCLUSIVE
                reason = "ALTER TABLE … DETACH PARTITION … CONCURRENTLY"
                pairs.append((partition, _M.SHARE_UPDATE_EXCLUSIVE))
            else:
                pairs.append((partition, _M.ACCESS_EXCLUSIVE))
        pairs.append((relation, mode))
    locks = locks_of(*pairs)
    # A foreign table's rows are remote: PostgreSQL neither scans nor rewrites them.
    foreign = body.get("objtype") == "OBJECT_FOREIGN_TABLE"
    on = (relation,) if relation is not None and not foreign else ()
    scan_set = dict.fromkeys((*(on if scans or rewrites else ()), *scanned))
    extra: dict[str, Any] = {
        "rewrites": on if rewrites else (),
        "may_rewrite": on if may_rewrite and not rewrites else (),
        "scans": tuple(name for name in scan_set if name is not None),
    }
    if reason is not None:
        return no_transaction(reason, locks=locks, concurrent=True, **extra)
    return StatementFacts(locks=locks, **extra)


def dropped_foreign_key_locks(
    statement: Statement,
    referenced_by: Callable[[QualifiedName, str], QualifiedName | None],
) -> tuple[RelationLock, ...]:
    """The locks an ``ALTER TABLE … DROP CONSTRAINT`` takes on referenced tables.

    Dropping a foreign key also takes ACCESS EXCLUSIVE on the table it references, to
    remove the triggers there (tablecmds.c ``dropconstraint_internal``; checked in
    pg_locks on PG 15 and 18). The text does not say which constraint is a foreign key:
    ``referenced_by(table, constraint)`` answers from what the caller knows (the replayed
    history), giving the referenced table, or ``None`` for any other or unknown one.
    """
    if statement.kind != "AlterTableStmt":
        return ()
    relation = range_var(statement.body.get("relation"))
    if relation is None:
        return ()
    pairs = []
    for item in statement.body.get("cmds", ()):
        cmd = item.get("AlterTableCmd", {})
        if cmd.get("subtype") == "AT_DropConstraint" and cmd.get("name"):
            referenced = referenced_by(relation, cmd["name"])
            if referenced is not None and referenced != relation:
                pairs.append((referenced, _M.ACCESS_EXCLUSIVE))
    return locks_of(*pairs)
