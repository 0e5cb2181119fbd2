"""Backfill statements: an ``UPDATE`` or ``DELETE`` checked for batching and rewritten, through
the parse tree, into its key-window form.

The window predicate is added to the statement's ``WHERE`` clause as AST nodes — never by
string concatenation — and deparsed by pglast. Window bounds are parameters placed after the
statement's own ``$n`` parameters, each cast to the key column's type, so a batch plans as an
index range scan on the key (``key > $lo AND key <= $hi``; a row comparison
``(a, b) > ($lo_a, $lo_b)`` for a composite key, which btree indexes use as a range bound).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pglast import ast, enums, parse_sql

from atomig.errors import SourceError, SourceLocation
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement, walk

_KINDS = {"UpdateStmt": "update", "DeleteStmt": "delete"}


@dataclass(frozen=True, slots=True)
class KeyColumn:
    """A column of the key that windows are walked by, with its type (for the casts).

    >>> KeyColumn("id", QualifiedName("pg_catalog", "int8")).name
    'id'
    """

    name: str
    type: QualifiedName


@dataclass(frozen=True, slots=True)
class BackfillStatement:
    """An ``UPDATE``/``DELETE`` accepted for batching.

    Attributes:
        statement: the statement as parsed from its file.
        path: the file it comes from (for error locations).
        kind: ``"update"`` or ``"delete"``.
        relation: the target table as written.
        refname: how the statement refers to the target (its alias, else the table name).
        only: ``UPDATE ONLY`` / ``DELETE FROM ONLY`` (inheritance children excluded).
        param_count: the highest ``$n`` the statement uses (its own parameters).
        updated_columns: the columns an ``UPDATE`` assigns.
    """

    statement: Statement
    path: str
    kind: str
    relation: QualifiedName
    refname: str
    only: bool
    param_count: int
    updated_columns: frozenset[str]

    @property
    def location(self) -> SourceLocation:
        """Where the statement starts in its file."""
        return SourceLocation(
            self.path, self.statement.span.line, self.statement.span.column
        )


def backfill_statement(statement: Statement, path: str) -> BackfillStatement:
    """Check that ``statement`` can run as a backfill and describe its target.

    Raises:
        SourceError: it is not an ``UPDATE``/``DELETE``, or it uses ``WHERE CURRENT OF``,
            ``RETURNING`` or a data-modifying ``WITH`` — each meaningless or unsafe when the
            statement runs once per window.
    """
    where = SourceLocation(path, statement.span.line, statement.span.column)
    kind = _KINDS.get(statement.kind)
    if kind is None:
        word = statement.text.split(None, 1)[0].upper() if statement.text else "?"
        raise SourceError(
            f"a backfill must be an UPDATE or DELETE, not {word} ({statement.kind})",
            location=where,
            hint="a backfill runs one UPDATE/DELETE in key-window batches; run other "
            "statements in a migration step",
        )
    body = statement.body
    if "CurrentOfExpr" in (body.get("whereClause") or {}):
        raise SourceError(
            "WHERE CURRENT OF cannot be batched: it names one row of a cursor",
            location=where,
        )
    if body.get("returningList") or body.get("returningClause"):
        raise SourceError(
            "RETURNING in a backfill: its rows would be discarded batch by batch",
            location=where,
            hint="remove RETURNING; count what changed from the backfill's totals",
        )
    for cte in (body.get("withClause") or {}).get("ctes", ()):
        query = cte.get("CommonTableExpr", {}).get("ctequery", {})
        if "SelectStmt" not in query:
            raise SourceError(
                "a data-modifying WITH would run once per batch",
                location=where,
                hint="move it to its own statement",
            )
    relation = body["relation"]
    alias = (relation.get("alias") or {}).get("aliasname")
    params = [v.get("number", 0) for k, v in walk(body) if k == "ParamRef"]
    updated = frozenset(
        target["ResTarget"]["name"]
        for target in body.get("targetList", ())
        if "ResTarget" in target
    )
    return BackfillStatement(
        statement=statement,
        path=path,
        kind=kind,
        relation=QualifiedName(relation.get("schemaname"), relation["relname"]),
        refname=alias or relation["relname"],
        only=not relation.get("inh", False),
        param_count=max(params, default=0),
        updated_columns=updated,
    )


def check_key_untouched(target: BackfillStatement, key: Sequence[KeyColumn]) -> None:
    """Refuse an ``UPDATE`` that assigns a key column: rows would move between windows
    (visited twice, or skipped), and the walk would never be exactly once.

    Raises:
        SourceError: naming the key column.
    """
    touched = sorted(target.updated_columns & {column.name for column in key})
    if touched:
        raise SourceError(
            f"the backfill updates {', '.join(touched)}, the key its windows are walked by: "
            "rows could be visited twice or skipped",
            location=target.location,
            hint="change key values with a plain statement in a migration step, or batch "
            "by another unique key",
        )


def _column(refname: str, name: str) -> ast.ColumnRef:
    return ast.ColumnRef(fields=(ast.String(sval=refname), ast.String(sval=name)))


def _param(number: int, column: KeyColumn) -> ast.TypeCast:
    names = [column.type.name]
    if column.type.schema is not None:
        names.insert(0, column.type.schema)
    return ast.TypeCast(
        arg=ast.ParamRef(number=number),
        typeName=ast.TypeName(
            names=tuple(ast.String(sval=n) for n in names), typemod=-1
        ),
    )


def _compare(operator: str, left: Any, right: Any) -> ast.A_Expr:
    return ast.A_Expr(
        kind=enums.A_Expr_Kind.AEXPR_OP,
        name=(ast.String(sval=operator),),
        lexpr=left,
        rexpr=right,
    )


def _side(refname: str, key: Sequence[KeyColumn], first: int) -> tuple[Any, Any]:
    columns = [_column(refname, c.name) for c in key]
    params = [_param(first + i, c) for i, c in enumerate(key)]
    if len(key) == 1:
        return columns[0], params[0]
    row = enums.CoercionForm.COERCE_IMPLICIT_CAST
    return ast.RowExpr(args=tuple(columns), row_format=row), ast.RowExpr(
        args=tuple(params), row_format=row
    )


def window_predicate_sql(
    target: BackfillStatement, key: Sequence[KeyColumn], *, lower: bool
) -> str:
    """The statement with the window predicate ANDed to its WHERE clause, as SQL text.

    With ``lower``, the window is ``key > $a AND key <= $b`` (parameters ``$a…`` follow the
    statement's own); without, only ``key <= $a`` (the first window of a walk).

    >>> from atomig.sql.parse import parse_script
    >>> s = parse_script("UPDATE t SET c = 1 WHERE c IS NULL").statements[0]
    >>> k = [KeyColumn("id", QualifiedName("pg_catalog", "int8"))]
    >>> print(window_predicate_sql(backfill_statement(s, "f.sql"), k, lower=True))
    UPDATE t SET c = 1 WHERE c IS NULL AND t.id > CAST($1 AS bigint) AND t.id <= CAST($2 AS bigint)
    """
    if not key:
        raise ValueError("a window needs at least one key column")
    tree = parse_sql(target.statement.text)[0].stmt
    assert isinstance(tree, ast.UpdateStmt | ast.DeleteStmt)
    first = target.param_count + 1
    conditions: list[Any] = []
    if lower:
        column, bound = _side(target.refname, key, first)
        conditions.append(_compare(">", column, bound))
        first += len(key)
    column, bound = _side(target.refname, key, first)
    conditions.append(_compare("<=", column, bound))
    if tree.whereClause is not None:
        conditions.insert(0, tree.whereClause)
    tree.whereClause = ast.BoolExpr(
        boolop=enums.BoolExprType.AND_EXPR, args=tuple(conditions)
    )
    # pglast's printers load on first use (5 ms): lint imports this module for its rules
    # and never prints a statement.
    from pglast.stream import RawStream

    text: str = RawStream()(tree)
    return text
