"""Command-line text → typed values for the generators, each mistake a usage error that says
what was wrong and how to write it. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from atomig.errors import UsageError
from atomig.gen.refs import Reference
from atomig.sql.facts import QualifiedName
from atomig.sql.fragments import (
    Expression,
    FragmentError,
    parse_expression,
    parse_index_element,
    parse_reference,
    parse_type,
)
from atomig.sql.quote import parse_column_name, parse_qualified_name

_NAME_HINT = (
    "write names as in SQL: orders, app.orders, or with double quotes for exact case, "
    "spaces and other characters: '\"Order Items\"' (quote them for the shell too)"
)
FK_ACTIONS = ("NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT")


def table(text: str) -> QualifiedName:
    """A table name as written in SQL."""
    try:
        return parse_qualified_name(text)
    except ValueError as exc:
        raise UsageError(f"table name: {exc}", hint=_NAME_HINT) from None


def column(text: str) -> str:
    """A column name as written in SQL."""
    try:
        return parse_column_name(text)
    except ValueError as exc:
        raise UsageError(f"column name: {exc}", hint=_NAME_HINT) from None


def columns(texts: Sequence[str]) -> tuple[str, ...]:
    """One or more column names (each argument may hold several, comma-separated)."""
    out: list[str] = []
    for text in texts:
        for part in _split_commas(text):
            out.append(column(part))
    if not out:
        raise UsageError("at least one column is required")
    if len(set(out)) != len(out):
        raise UsageError("a column is named twice")
    return tuple(out)


def name(text: str | None) -> str | None:
    """An object name given with ``--name``."""
    return None if text is None else column(text)


def type_(text: str) -> str:
    """A data type, checked by PostgreSQL's parser."""
    try:
        return parse_type(text)
    except FragmentError as exc:
        raise UsageError(
            str(exc), hint="a type as in SQL: bigint, text, numeric(10,2), timestamptz"
        ) from None


def expression(text: str | None, what: str) -> Expression | None:
    """An SQL expression (a default, a check, a conversion)."""
    if text is None:
        return None
    try:
        return parse_expression(text)
    except FragmentError as exc:
        raise UsageError(
            f"{what}: {exc}",
            hint=f"{what} is one SQL expression, e.g. 0, 'new', now(), amount > 0",
        ) from None


def index_elements(texts: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Index columns (``col``, ``col DESC``, ``(lower(email))``): their SQL and the
    columns they name."""
    sqls: list[str] = []
    named: list[str] = []
    for text in texts:
        for part in _split_commas(text):
            try:
                sql, cols = parse_index_element(part)
            except FragmentError as exc:
                raise UsageError(
                    str(exc),
                    hint="index columns: email, created_at DESC, or an expression in "
                    "parentheses: '(lower(email))'",
                ) from None
            sqls.append(sql)
            named += [c for c in cols if c not in named]
    if not sqls:
        raise UsageError("at least one index column is required")
    return tuple(sqls), tuple(named)


def reference(text: str | None) -> Reference | None:
    """``--references TABLE(col, …)``."""
    if text is None:
        return None
    try:
        parent, cols = parse_reference(text)
    except FragmentError as exc:
        raise UsageError(
            str(exc), hint="write --references 'customers(id)' or 'app.customers(id)'"
        ) from None
    return Reference(parent, cols)


def fk_action(text: str | None, option: str) -> str | None:
    """``--on-delete`` / ``--on-update``: one of the referential actions."""
    if text is None:
        return None
    words = " ".join(text.replace("_", " ").replace("-", " ").upper().split())
    if words not in FK_ACTIONS:
        raise UsageError(
            f"{option}: unknown action {text!r}",
            hint="one of: " + ", ".join(a.lower() for a in FK_ACTIONS),
        )
    return words


def _split_commas(text: str) -> list[str]:
    # Commas inside double quotes or parentheses belong to the part.
    out: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == "," and not quoted and depth == 0:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        out.append("".join(current).strip())
    return [part for part in out if part]
