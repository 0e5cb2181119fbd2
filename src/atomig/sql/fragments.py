"""SQL fragments a user types on the command line (a type, an expression, an index column),
checked with PostgreSQL's own parser and printed back from the parse tree.

A fragment is parsed inside a statement made for it; the tree must hold exactly that one
fragment and nothing else (one statement, one column, no extra clause), so ``int); DROP
TABLE users; --`` is refused, not pasted. What atomig writes is the parser's reading of the
fragment, printed by pglast: canonical, quoted, and exactly what PostgreSQL will run.
Catalog definitions (``pg_get_indexdef``) are rewritten the same way. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pglast import ast, parse_sql
from pglast import parser as _pg
from pglast.enums import SetOperation
from pglast.stream import RawStream
from pglast.visitors import Visitor

from atomig.sql.facts import QualifiedName
from atomig.sql.quote import parse_identifiers
from atomig.sql.volatility import Volatility, expression_volatility


class FragmentError(ValueError):
    """A fragment that is not what it should be (the message says why)."""


@dataclass(frozen=True, slots=True)
class Expression:
    """An SQL expression: its canonical text, the columns it names, its volatility."""

    sql: str
    columns: tuple[str, ...]
    volatility: Volatility
    culprit: str | None = None


def _parse_one(text: str, what: str, fragment: str) -> Any:
    try:
        statements = parse_sql(text)
    except _pg.ParseError as exc:
        raise FragmentError(
            f"{what} {fragment!r} does not parse: {exc.args[0]}"
        ) from None
    if len(statements) != 1:
        raise FragmentError(f"{what} {fragment!r} is not a single {what}")
    return statements[0].stmt


def _print(node: Any) -> str:
    return str(RawStream()(node))


def parse_type(text: str) -> str:
    """A data type as PostgreSQL reads it, printed canonically.

    >>> parse_type("timestamp with time zone"), parse_type('"My Type"[]')
    ('timestamp with time zone', '"My Type"[]')

    Raises:
        FragmentError: when ``text`` is not exactly one type name.
    """
    if not text.strip():
        raise FragmentError("a type is required")
    stmt = _parse_one(f"CREATE TABLE atomig_t (atomig_c {text})", "type", text)
    elts: Any = getattr(stmt, "tableElts", None) or ()
    if not isinstance(stmt, ast.CreateStmt) or len(elts) != 1:
        raise FragmentError(f"type {text!r} is not a single type")
    column = elts[0]
    if (
        not isinstance(column, ast.ColumnDef)
        or column.constraints
        or column.collClause
        or column.colname != "atomig_c"
    ):
        raise FragmentError(
            f"type {text!r} holds more than a type (constraints, COLLATE, …)"
        )
    return _print(column.typeName)


def parse_expression(text: str) -> Expression:
    """A scalar expression (a default, a CHECK, a conversion), printed canonically.

    >>> e = parse_expression("lower( Email ) ||'x'")
    >>> e.sql, e.columns, e.volatility.name
    ("lower(email) || 'x'", ('email',), 'IMMUTABLE')

    Raises:
        FragmentError: when ``text`` is not exactly one expression.
    """
    if not text.strip():
        raise FragmentError("an expression is required")
    stmt = _parse_one(f"SELECT {text}", "expression", text)
    targets: Any = getattr(stmt, "targetList", None) or ()
    extras = (
        "distinctClause",
        "intoClause",
        "fromClause",
        "whereClause",
        "groupClause",
        "havingClause",
        "windowClause",
        "valuesLists",
        "sortClause",
        "limitOffset",
        "limitCount",
        "lockingClause",
        "withClause",
    )
    if (
        not isinstance(stmt, ast.SelectStmt)
        or len(targets) != 1
        or targets[0].name
        or stmt.op != SetOperation.SETOP_NONE
        or any(getattr(stmt, extra, None) for extra in extras)
    ):
        raise FragmentError(f"{text!r} is not a single expression")
    value: Any = targets[0].val
    fields: Any = getattr(value, "fields", None) or ()
    if isinstance(value, ast.ColumnRef) and isinstance(fields[-1], ast.A_Star):
        raise FragmentError(f"{text!r} is not a single expression")
    raw = json.loads(_pg.parse_sql_json(f"SELECT {text}"))
    node = raw["stmts"][0]["stmt"]["SelectStmt"]["targetList"][0]
    volatility, culprit = expression_volatility(node)
    return Expression(_print(value), _columns(value), volatility, culprit)


def _columns(node: Any) -> tuple[str, ...]:
    found: list[tuple[int, str]] = []

    class Refs(Visitor):
        def visit_ColumnRef(self, ancestors: Any, ref: Any) -> None:
            last = ref.fields[-1]
            if isinstance(last, ast.String):
                found.append((int(ref.location or 0), str(last.sval)))

    Refs()(node)
    names: list[str] = []
    for _, name in sorted(found):
        if name not in names:
            names.append(name)
    return tuple(names)


def qualify_columns(expression: str, record: str) -> str:
    """``expression`` with every bare column name qualified by ``record`` (``NEW``), for
    a trigger function that computes it from the row being written.

    >>> qualify_columns('coalesce("Ref", 0) + amount', "new")
    'COALESCE(new."Ref", 0) + new.amount'
    """
    stmt = _parse_one(f"SELECT {expression}", "expression", expression)
    value = stmt.targetList[0].val

    class Qualify(Visitor):
        def visit_ColumnRef(self, ancestors: Any, ref: Any) -> Any:
            if len(ref.fields) == 1 and isinstance(ref.fields[0], ast.String):
                return ast.ColumnRef(fields=(ast.String(sval=record), ref.fields[0]))
            return None

    result = Qualify()(value)
    return _print(result if result is not None else value)


def parse_index_element(text: str) -> tuple[str, tuple[str, ...]]:
    """One index column: a column (with opclass, ASC/DESC, NULLS …) or an expression in
    parentheses. Returns its canonical text and the columns it names.

    >>> parse_index_element("created_at DESC")
    ('created_at DESC', ('created_at',))
    >>> parse_index_element("(lower(email))")
    ('(lower(email))', ('email',))

    Raises:
        FragmentError: when ``text`` is not exactly one index element.
    """
    stmt = _parse_one(
        f"CREATE INDEX atomig_i ON atomig_t ({text})", "index column", text
    )
    params: Any = getattr(stmt, "indexParams", None) or ()
    if not isinstance(stmt, ast.IndexStmt) or len(params) != 1:
        raise FragmentError(f"index column {text!r} is not a single index column")
    element = params[0]
    if element.name is not None:
        return _print(element), (element.name,)
    return _print(element), _columns(element.expr)


def parse_reference(text: str) -> tuple[QualifiedName, tuple[str, ...]]:
    """``table(col[, col])`` or a bare ``table`` (its primary key is meant).

    >>> parse_reference('app.customers ("Id")')
    (QualifiedName(schema='app', name='customers'), ('Id',))

    Raises:
        FragmentError: when ``text`` is malformed.
    """
    head, paren, rest = text.partition("(")
    try:
        parts = parse_identifiers(head)
        if len(parts) > 2:
            raise ValueError("expected table or schema.table")
        table = QualifiedName(parts[0] if len(parts) == 2 else None, parts[-1])
        columns: tuple[str, ...] = ()
        if paren:
            inner = rest.rstrip()
            if not inner.endswith(")"):
                raise ValueError("missing ')'")
            columns = tuple(
                _single(parse_identifiers(part)) for part in _split(inner[:-1])
            )
    except ValueError as exc:
        raise FragmentError(f"reference {text!r}: {exc}") from None
    return table, columns


def _single(parts: list[str]) -> str:
    if len(parts) != 1:
        raise ValueError("a referenced column is a bare name")
    return parts[0]


def _split(text: str) -> list[str]:
    # Commas inside double quotes belong to the name.
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(char)
    out.append("".join(current))
    return out


def rewrite_index(
    definition: str,
    *,
    name: str,
    renames: Mapping[str, str] | None = None,
) -> str:
    """An index definition (``pg_get_indexdef``) as ``CREATE … INDEX CONCURRENTLY IF NOT
    EXISTS name``, with columns renamed (to copy an index onto a new column).

    >>> rewrite_index("CREATE INDEX a ON public.t USING btree (c) WHERE (c > 0)",
    ...               name="b", renames={"c": "c_new"})
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS b ON public.t (c_new) WHERE c_new > 0'
    """
    stmt = _parse_one(definition, "index definition", definition)
    if not isinstance(stmt, ast.IndexStmt):
        raise FragmentError(f"not an index definition: {definition!r}")
    stmt.idxname = name
    stmt.concurrent = True
    stmt.if_not_exists = True
    if renames:
        _rename_columns(stmt, renames)
    return _print(stmt)


def _rename_columns(node: Any, renames: Mapping[str, str]) -> None:
    class Rename(Visitor):
        def visit_ColumnRef(self, ancestors: Any, ref: Any) -> Any:
            last = ref.fields[-1]
            if isinstance(last, ast.String) and str(last.sval) in renames:
                fields = (*ref.fields[:-1], ast.String(sval=renames[str(last.sval)]))
                return ast.ColumnRef(fields=fields)
            return None

        def visit_IndexElem(self, ancestors: Any, element: Any) -> None:
            if element.name is not None and element.name in renames:
                element.name = renames[element.name]

    Rename()(node)


def rewrite_constraint(definition: str, renames: Mapping[str, str]) -> str:
    """A constraint definition (``pg_get_constraintdef``) with columns renamed."""
    stmt = _parse_one(
        f"ALTER TABLE atomig_t ADD CONSTRAINT atomig_c {definition}",
        "constraint definition",
        definition,
    )
    cmd = stmt.cmds[0].def_
    if not isinstance(cmd, ast.Constraint):
        raise FragmentError(f"not a constraint definition: {definition!r}")
    for attr in ("keys", "fk_attrs", "including"):
        values = getattr(cmd, attr, None)
        if values:
            setattr(
                cmd,
                attr,
                tuple(ast.String(sval=renames.get(v.sval, v.sval)) for v in values),
            )
    if cmd.raw_expr is not None:
        _rename_columns(cmd.raw_expr, renames)
    text = _print(stmt)
    prefix = "ALTER TABLE atomig_t ADD CONSTRAINT atomig_c "
    assert text.startswith(prefix), text
    return text[len(prefix) :]


def constraint_columns(definition: str) -> tuple[str, ...]:
    """The key columns of a PRIMARY KEY / UNIQUE definition, or the referencing columns of
    a FOREIGN KEY (``pg_get_constraintdef``); ``()`` for other kinds.

    >>> constraint_columns('PRIMARY KEY (id, "Part")')
    ('id', 'Part')
    """
    stmt = _parse_one(
        f"ALTER TABLE atomig_t ADD CONSTRAINT atomig_c {definition}",
        "constraint definition",
        definition,
    )
    cmd = stmt.cmds[0].def_
    values = getattr(cmd, "keys", None) or getattr(cmd, "fk_attrs", None) or ()
    return tuple(v.sval for v in values)


def index_columns(definition: str) -> tuple[str | None, ...]:
    """The columns of an index definition in order (``None`` for an expression).

    >>> index_columns("CREATE INDEX i ON public.t USING btree (a, lower(b))")
    ('a', None)
    """
    stmt = _parse_one(definition, "index definition", definition)
    return tuple(element.name for element in stmt.indexParams)


def index_uses(definition: str) -> tuple[str, ...]:
    """Every column an index definition names: keys, expressions, INCLUDE, WHERE."""
    stmt = _parse_one(definition, "index definition", definition)
    found: list[str] = []
    for element in stmt.indexParams:
        if element.name is not None:
            found.append(element.name)
        else:
            found += _columns(element.expr)
    for element in stmt.indexIncludingParams or ():
        if element.name is not None:
            found.append(element.name)
    if stmt.whereClause is not None:
        found += _columns(stmt.whereClause)
    return tuple(dict.fromkeys(found))


def expression_columns(definition: str) -> tuple[str, ...]:
    """Every column a CHECK constraint definition names."""
    stmt = _parse_one(
        f"ALTER TABLE atomig_t ADD CONSTRAINT atomig_c {definition}",
        "constraint definition",
        definition,
    )
    cmd = stmt.cmds[0].def_
    cols = list(getattr(cmd, "keys", None) or ()) + list(
        getattr(cmd, "fk_attrs", None) or ()
    )
    found = [v.sval for v in cols]
    if cmd.raw_expr is not None:
        found += _columns(cmd.raw_expr)
    return tuple(dict.fromkeys(found))


def referenced_columns(definition: str) -> tuple[str, ...]:
    """The referenced (parent) columns of a FOREIGN KEY definition.

    >>> referenced_columns('FOREIGN KEY (a) REFERENCES public.p("Id")')
    ('Id',)
    """
    stmt = _parse_one(
        f"ALTER TABLE atomig_t ADD CONSTRAINT atomig_c {definition}",
        "constraint definition",
        definition,
    )
    return tuple(v.sval for v in getattr(stmt.cmds[0].def_, "pk_attrs", None) or ())


def parse_assignments(text: str) -> tuple[tuple[str, str], ...]:
    """``col = expr[, col = expr]`` (an UPDATE's SET list): ``(column, expression SQL)``.

    >>> parse_assignments("status = 'new', amount = amount * 2")
    (('status', "'new'"), ('amount', 'amount * 2'))

    Raises:
        FragmentError: when ``text`` is not exactly a SET list.
    """
    stmt = _parse_one(f"UPDATE atomig_t SET {text}", "SET list", text)
    targets: Any = getattr(stmt, "targetList", None) or ()
    if (
        not isinstance(stmt, ast.UpdateStmt)
        or not targets
        or stmt.whereClause is not None
        or stmt.fromClause
        or getattr(stmt, "returningList", None)
        or getattr(stmt, "returningClause", None)
    ):
        raise FragmentError(f"{text!r} is not a list of col = expression")
    out = []
    for target in targets:
        if target.indirection or isinstance(target.val, ast.MultiAssignRef):
            raise FragmentError(f"{text!r}: assign whole columns, one at a time")
        out.append((target.name, _print(target.val)))
    return tuple(out)


def check_statement(text: str) -> None:
    """Parse generated SQL: atomig never writes a file PostgreSQL cannot read.

    Raises:
        FragmentError: with PostgreSQL's message.
    """
    try:
        _pg.parse_sql_json(text)
    except _pg.ParseError as exc:
        raise FragmentError(f"generated SQL does not parse: {exc.args[0]}") from None


__all__ = [
    "Expression",
    "FragmentError",
    "check_statement",
    "constraint_columns",
    "expression_columns",
    "index_columns",
    "index_uses",
    "parse_assignments",
    "parse_expression",
    "parse_index_element",
    "parse_reference",
    "parse_type",
    "qualify_columns",
    "referenced_columns",
    "rewrite_constraint",
    "rewrite_index",
]
