"""The columns a CHECK constraint proves NOT NULL, as ``ALTER COLUMN … SET NOT NULL``
finds them (PostgreSQL 12 and later skip the table scan when one does).

PostgreSQL asks whether the validated CHECK constraints imply ``col IS NOT NULL``
(``NotNullImpliedByRelConstraints``): after ``eval_const_expressions`` each constraint is
a list of AND-ed conjuncts, and one conjunct ``col IS NOT NULL`` proves the column.
Checked with the DEBUG1 message "verifying table" on PG 15 and 18:

* proved: ``col IS NOT NULL``, as a conjunct of ANDs at any nesting
  (``CHECK (id > 0 AND (name <> '' AND name IS NOT NULL))``), ``NOT (col IS NULL)``
  (folded to ``IS NOT NULL``) and ``(a, b) IS NOT NULL`` (each field, for a row);
* not proved: a strict condition alone (``name <> ''`` passes a NULL: a CHECK only
  rejects false), an OR (``name IS NOT NULL OR id > 0``), ``(name IS NOT NULL) IS
  TRUE``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

__all__ = ["definition_not_null_columns", "not_null_columns"]


def not_null_columns(expression: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The columns a CHECK's ``raw_expr`` (a parse-tree dict) proves NOT NULL, in order.

    >>> test = {"NullTest": {"nulltesttype": "IS_NOT_NULL",
    ...     "arg": {"ColumnRef": {"fields": [{"String": {"sval": "name"}}]}}}}
    >>> other = {"A_Expr": {"name": [{"String": {"sval": "<>"}}]}}
    >>> not_null_columns({"BoolExpr": {"boolop": "AND_EXPR", "args": [test, other]}})
    ('name',)
    >>> not_null_columns({"BoolExpr": {"boolop": "OR_EXPR", "args": [test, other]}})
    ()
    """
    return tuple(dict.fromkeys(_proved(expression or {})))


def definition_not_null_columns(definition: str) -> tuple[str, ...]:
    """The columns a CHECK constraint proves NOT NULL, from its ``pg_get_constraintdef``
    text (``CHECK (((name IS NOT NULL) AND (name <> ''::text)))``); ``()`` for any other
    constraint or text the parser rejects.

    >>> definition_not_null_columns("CHECK (((name IS NOT NULL) AND (name <> ''::text)))")
    ('name',)
    >>> definition_not_null_columns("CHECK ((name <> ''::text))")
    ()
    """
    # (pglast on first use, as in parse.py: only a live catalog read calls this)
    from pglast import parser as _pg

    try:
        tree = orjson.loads(_pg.parse_sql_json(f"ALTER TABLE t ADD {definition}"))
    except (_pg.ParseError, ValueError):
        return ()
    for item in tree.get("stmts", ()):
        body = item.get("stmt", {}).get("AlterTableStmt", {})
        for cmd in body.get("cmds", ()):
            con = cmd.get("AlterTableCmd", {}).get("def", {}).get("Constraint", {})
            if con.get("contype") == "CONSTR_CHECK":
                return not_null_columns(con.get("raw_expr"))
    return ()


def _proved(node: Mapping[str, Any]) -> Iterator[str]:
    if (boolean := node.get("BoolExpr")) is not None:
        args = boolean.get("args", ())
        if boolean.get("boolop") == "AND_EXPR":
            for arg in args:
                yield from _proved(arg)
        elif boolean.get("boolop") == "NOT_EXPR" and len(args) == 1:
            # NOT (col IS NULL): eval_const_expressions folds it to col IS NOT NULL.
            inner = args[0].get("NullTest") or {}
            if inner.get("nulltesttype") == "IS_NULL":
                yield from _tested_columns(inner.get("arg") or {}, row=False)
    elif (test := node.get("NullTest") or {}).get("nulltesttype") == "IS_NOT_NULL":
        yield from _tested_columns(test.get("arg") or {}, row=True)


def _tested_columns(arg: Mapping[str, Any], row: bool) -> Iterator[str]:
    # A row IS NOT NULL when every field is (it is expanded to one test per field);
    # NOT (row IS NULL) only says some field is not NULL: it proves none.
    if row and (fields := arg.get("RowExpr")) is not None:
        for field in fields.get("args", ()):
            yield from _tested_columns(field, row=False)
    elif (ref := arg.get("ColumnRef")) is not None:
        names = [f["String"]["sval"] for f in ref.get("fields", ()) if "String" in f]
        if names:
            yield names[-1]
