"""Dynamic SQL built by string concatenation inside PL/pgSQL bodies (DO blocks, functions).

``EXECUTE 'ALTER TABLE ' || name``, ``EXECUTE concat(…, name)`` and ``EXECUTE format('… %s …',
name)`` splice a value into SQL text unquoted: an identifier with a capital letter, a space or
a quote breaks the statement, and a value from a table becomes an injection. ``format('%I')``
/ ``'%L'``, ``quote_ident()`` / ``quote_literal()`` / ``quote_nullable()`` operands, string
constants and ``EXECUTE … USING`` are the safe forms. The body is read with PostgreSQL's own
PL/pgSQL parser (every ``EXECUTE``, ``FOR … IN EXECUTE``, ``OPEN … FOR EXECUTE`` and ``RETURN
QUERY EXECUTE``, and the assignments of a variable that is executed), and each expression
with its SQL grammar, so literals, comments and dollar quotes are never mistaken for
operators.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pglast import parser as _pg

_ENDS = frozenset({"ASCII_59", "USING", "INTO"})
# The PL/pgSQL statements that run SQL text built at run time, with the key of that text.
_DYNAMIC = {
    "PLpgSQL_stmt_dynexecute": "query",
    "PLpgSQL_stmt_dynfors": "query",
    "PLpgSQL_stmt_open": "dynquery",
    "PLpgSQL_stmt_return_query": "dynquery",
}
_LOOPS = frozenset(
    {
        "PLpgSQL_stmt_loop",
        "PLpgSQL_stmt_while",
        "PLpgSQL_stmt_fori",
        "PLpgSQL_stmt_fors",
        "PLpgSQL_stmt_forc",
        "PLpgSQL_stmt_foreach_a",
        "PLpgSQL_stmt_dynfors",
    }
)
_QUOTERS = frozenset({"quote_ident", "quote_literal", "quote_nullable"})
_CONCATS = frozenset({"concat", "concat_ws"})


@dataclass(frozen=True, slots=True)
class DynamicSqlHazard:
    """One ``EXECUTE`` whose SQL text is concatenated: ``offset`` is a character offset in
    the body, ``how`` is ``"||"``, ``"concat()"`` or ``"format %s"``; when the executed
    text is a variable, ``variable`` names it and ``line`` is the body line (1-based) of
    the assignment that builds it."""

    offset: int
    how: str
    variable: str | None = None
    line: int | None = None


def dynamic_sql_hazards(statement: str, body: str) -> list[DynamicSqlHazard]:
    """The dynamic SQL of a PL/pgSQL ``body`` (of the DO or CREATE FUNCTION ``statement``)
    that is built by splicing values in unquoted.

    >>> def how(body):
    ...     text = f"DO $$ {body} $$"
    ...     return [(h.how, h.variable) for h in dynamic_sql_hazards(text, f" {body} ")]
    >>> how("DECLARE t text := 'x'; BEGIN EXECUTE 'DROP TABLE ' || t; END")
    [('||', None)]
    >>> how("DECLARE t text := 'x'; BEGIN EXECUTE 'DROP TABLE ' || quote_ident(t); END")
    []
    >>> how("DECLARE t text := 'x'; q text; BEGIN q := concat('DROP TABLE ', t); EXECUTE q; END")
    [('concat()', 'q')]
    >>> how("DECLARE t text := 'x'; BEGIN EXECUTE format('DROP TABLE %1$I', t); END")
    []
    """
    if "execute" not in body.lower():
        return []
    try:
        tree = json.loads(_pg.parse_plpgsql_json(statement))
    except (
        Exception
    ):  # a body PostgreSQL would reject: read its EXECUTEs token by token
        return _token_hazards(body)
    datums = _datums(tree)
    sources: dict[str, list[Source]] = {}
    for datum in datums.values():
        default = datum.get("default_val", {}).get("PLpgSQL_expr", {}).get("query")
        if datum.get("refname") and default:
            sources.setdefault(datum["refname"], []).append(
                (default, datum.get("lineno", 1), ())
            )
    runs: list[tuple[int, str, bool, Path]] = []
    _walk(tree, datums, sources, runs, in_loop=False, path=())
    starts = _line_starts(body)
    executes = _execute_offsets(body)
    found = []
    for lineno, query, in_loop, path in runs:
        # In a loop, an assignment further down reaches the EXECUTE on the next turn.
        hazard = _hazard(query, sources, None if in_loop else lineno, path)
        if hazard is None:
            continue
        how, variable, line = hazard
        start = starts[min(lineno, len(starts)) - 1]
        offset = next((o for o in executes if o >= start), start)
        found.append(DynamicSqlHazard(offset, how, variable, line))
    return found


def _datums(tree: Any) -> dict[int, dict[str, Any]]:
    """The function's variables by number (``varno`` of an assignment)."""
    function = tree[0]["PLpgSQL_function"] if tree else {}
    return {
        number: next(iter(datum.values()), {})
        for number, datum in enumerate(function.get("datums", ()))
    }


# An assignment: (expression, line, path); a path is the statement lists (by id) that hold
# a statement, outermost first: one whose path begins another's runs before it, always.
Path = tuple[int, ...]
Source = tuple[str, int, Path]


def _walk(
    node: Any,
    datums: dict[int, dict[str, Any]],
    sources: dict[str, list[Source]],
    runs: list[tuple[int, str, bool, Path]],
    *,
    in_loop: bool,
    path: Path,
) -> None:
    """Collect the dynamic statements (line, expression, inside a loop, path) and each
    variable's assignments."""
    if isinstance(node, list):
        inner = (*path, id(node))
        for item in node:
            _walk(item, datums, sources, runs, in_loop=in_loop, path=inner)
        return
    if not isinstance(node, dict):
        return
    for kind, value in node.items():
        if kind in _DYNAMIC and isinstance(value, dict):
            query = value.get(_DYNAMIC[kind], {}).get("PLpgSQL_expr", {}).get("query")
            if query:
                runs.append((value.get("lineno", 1), query, in_loop, path))
        elif kind == "PLpgSQL_stmt_assign":
            name = datums.get(value.get("varno", -1), {}).get("refname")
            text = value.get("expr", {}).get("PLpgSQL_expr", {}).get("query", "")
            expression = _assigned(text)
            if name and expression:
                sources.setdefault(name, []).append(
                    (expression, value.get("lineno", 1), path)
                )
        loop = in_loop or kind in _LOOPS
        _walk(value, datums, sources, runs, in_loop=loop, path=path)


def _assigned(assignment: str) -> str | None:
    """The expression of ``target := expression`` (or ``=``): the text after the first
    ``:=`` or ``=`` outside brackets (a target may be ``r.f`` or ``a[i]``)."""
    try:
        tokens = _pg.scan(assignment)
    except Exception:
        return None
    depth = 0
    for token in tokens:
        if token.name in ("ASCII_40", "ASCII_91"):
            depth += 1
        elif token.name in ("ASCII_41", "ASCII_93"):
            depth -= 1
        elif depth == 0 and token.name in ("COLON_EQUALS", "ASCII_61"):
            return assignment[token.end + 1 :].strip()
    return None


def _expression(text: str) -> Any:
    """The parse tree of one SQL expression (``None`` when it does not parse)."""
    try:
        tree = json.loads(_pg.parse_sql_json(f"SELECT {text}"))
        targets = tree["stmts"][0]["stmt"]["SelectStmt"]["targetList"]
    except (_pg.ParseError, KeyError, IndexError, TypeError):
        return None
    return targets[0]["ResTarget"]["val"] if len(targets) == 1 else None


def _reads(node: Any, name: str) -> bool:
    """The expression ``node`` reads the variable ``name`` (``q := q || …`` keeps what q
    held), or does not parse (then it may)."""
    if node is None:
        return True
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            fields = item.get("ColumnRef", {}).get("fields", ())
            if fields and fields[0].get("String", {}).get("sval") == name:
                return True
            stack.extend(item.values())
    return False


def _hazard(
    query: str, sources: dict[str, list[Source]], before: int | None, path: Path
) -> tuple[str, str | None, int | None] | None:
    """How the executed ``query`` splices a value in (and through which variable, built on
    which line), following a bare variable to its assignments above line ``before`` (all of
    them when ``None``) that may reach it: not those an assignment in a statement list
    around the EXECUTE (``path``) replaces on every way to it."""
    node = _expression(query)
    seen: set[str] = set()
    while True:
        name = _variable(node)
        if name is None:
            how = _how(node, None)
            return None if how is None else (how, None, None)
        if name in seen:
            return None
        seen.add(name)
        # The first assignment that splices; else the last variable it was copied from
        # (q2 := q), as q stood at that copy.
        follow, follow_line, follow_path = None, before, path
        assigned = [
            s for s in sources.get(name, ()) if before is None or s[1] <= before
        ]
        # (the last one that always runs before the EXECUTE hides those above it)
        floor = max(
            (
                line
                for text, line, where in assigned
                if path[: len(where)] == where and not _reads(_expression(text), name)
            ),
            default=0,
        )
        for text, line, where in assigned:
            if before is not None and line < floor:
                continue
            value = _expression(text)
            copied = _variable(value)
            if copied is not None and copied != name:
                follow, follow_line = value, None if before is None else line
                follow_path = where
                continue
            how = _how(value, name)
            if how is not None:
                return how, name, line
        if follow is None:
            return None
        node, before, path = follow, follow_line, follow_path


def _variable(node: Any) -> str | None:
    """The name of a bare variable reference (``q``), else ``None``."""
    if not isinstance(node, dict) or "ColumnRef" not in node:
        return None
    fields = node["ColumnRef"].get("fields", ())
    if len(fields) != 1 or "String" not in fields[0]:
        return None
    return str(fields[0]["String"]["sval"])


def _how(node: Any, own: str | None) -> str | None:
    """Where ``node`` splices an unquoted value into text: ``"||"``, ``"concat()"`` or
    ``"format %s"``; ``own`` is the variable being assigned (``q := q || '…'`` extends
    the SQL text it already holds)."""
    if isinstance(node, list):
        return next((h for h in (_how(item, own) for item in node) if h), None)
    if not isinstance(node, dict):
        return None
    for kind, value in node.items():
        if kind == "A_Expr" and _operator(value) == "||":
            operands = _operands(value)
            for op in operands:
                if _unquoted(op, own):
                    # A spliced operand that splices itself (format %s) says how.
                    return _how(op, own) or "||"
            return _how(operands, own)
        if kind == "FuncCall":
            name, args = _function(value)
            if name in _QUOTERS:
                return None
            if name == "format":
                return "format %s" if _format_splices(args, own) else None
            if name in _CONCATS:
                return "concat()" if any(_unquoted(a, own) for a in args) else None
        found = _how(value, own)
        if found:
            return found
    return None


def _unquoted(node: Any, own: str | None) -> bool:
    """``node`` may put text of unknown content into the SQL: it is neither a constant,
    nor quoted by ``quote_*()`` or ``format('%I'/'%L')``, nor the text being extended."""
    if not isinstance(node, dict) or len(node) != 1:
        return True
    kind, value = next(iter(node.items()))
    if kind == "A_Const":
        return False
    if kind == "TypeCast":
        return _unquoted(value.get("arg"), own)
    if kind == "ColumnRef":
        return own is None or _variable(node) != own
    if kind == "A_Expr" and _operator(value) == "||":
        return any(_unquoted(op, own) for op in _operands(value))
    if kind == "CoalesceExpr":
        return any(_unquoted(arg, own) for arg in value.get("args", ()))
    if kind == "CaseExpr":
        results = [w["CaseWhen"].get("result") for w in value.get("args", ())]
        return any(_unquoted(r, own) for r in [*results, value.get("defresult")] if r)
    if kind == "FuncCall":
        name, args = _function(value)
        if name in _QUOTERS:
            return False
        if name == "format":
            return _format_splices(args, own)
        if name in _CONCATS:
            return any(_unquoted(a, own) for a in args)
    return True


def _operator(expr: dict[str, Any]) -> str | None:
    names = expr.get("name") or ()
    if expr.get("kind") != "AEXPR_OP" or not names:
        return None
    return str(names[-1].get("String", {}).get("sval"))


def _operands(expr: dict[str, Any]) -> list[Any]:
    """The operands of a chain of ``||`` (``a || b || c`` nests to the left)."""
    found = []
    for side in (expr.get("lexpr"), expr.get("rexpr")):
        inner = side.get("A_Expr") if isinstance(side, dict) else None
        if inner is not None and _operator(inner) == "||":
            found += _operands(inner)
        elif side is not None:
            found.append(side)
    return found


def _function(call: dict[str, Any]) -> tuple[str, list[Any]]:
    """A call's unqualified lower-case name and its arguments."""
    names = call.get("funcname") or ()
    name = names[-1].get("String", {}).get("sval", "") if names else ""
    return str(name).lower(), list(call.get("args") or ())


def _format_splices(args: list[Any], own: str | None) -> bool:
    """A ``format()`` call with a constant format string puts an unquoted value in with
    ``%s`` (sequential or positional: ``%2$s``, with flags and widths; ``%I`` and ``%L``
    quote). A format string that is not a constant cannot be told: not reported."""
    fmt = args[0].get("A_Const", {}).get("sval", {}).get("sval") if args else None
    if not isinstance(fmt, str):
        return False
    values = args[1:]
    return any(
        kind == "s" and index < len(values) and _unquoted(values[index], own)
        for kind, index in format_specifiers(fmt)
    )


def format_specifiers(fmt: str) -> list[tuple[str, int]]:
    """The conversions of a ``format()`` string: (type, 0-based argument index after the
    format string), as PostgreSQL numbers them (a width ``*`` takes an argument too; after
    ``%n$`` the next sequential one is n + 1).

    >>> format_specifiers("%s, %I and %L; %2$s then %s, %-10s, %*s, 100%%")
    [('s', 0), ('I', 1), ('L', 2), ('s', 1), ('s', 2), ('s', 3), ('s', 5)]
    """
    found: list[tuple[str, int]] = []
    at, following, size = 0, 0, len(fmt)
    while at < size:
        if fmt[at] != "%":
            at += 1
            continue
        at += 1
        if at < size and fmt[at] == "%":
            at += 1
            continue
        position, at = _position(fmt, at)
        while at < size and fmt[at] == "-":
            at += 1
        if at < size and fmt[at] == "*":
            width, at = _position(fmt, at + 1)
            following = width + 1 if width is not None else following + 1
        while at < size and fmt[at].isdigit():
            at += 1
        if at >= size:
            break
        index = position if position is not None else following
        found.append((fmt[at], index))
        following = index + 1
        at += 1
    return found


def _position(fmt: str, at: int) -> tuple[int | None, int]:
    """An ``n$`` argument position at ``at`` (0-based) and where the text goes on."""
    end = at
    while end < len(fmt) and fmt[end].isdigit():
        end += 1
    if end > at and end < len(fmt) and fmt[end] == "$":
        return int(fmt[at:end]) - 1, end + 1
    return None, at


def _line_starts(body: str) -> list[int]:
    """The offset in ``body`` where each of its lines starts (PL/pgSQL numbers them from
    the line the body opens on)."""
    starts = [0]
    at = body.find("\n")
    while at >= 0:
        starts.append(at + 1)
        at = body.find("\n", at + 1)
    return starts


def _execute_offsets(body: str) -> list[int]:
    """The offsets of the ``EXECUTE`` keywords of ``body``, in order."""
    try:
        return [t.start for t in _pg.scan(body) if t.name == "EXECUTE"]
    except Exception:  # pragma: no cover - the body parsed as PL/pgSQL
        return []


def _token_hazards(body: str) -> list[DynamicSqlHazard]:
    """Token by token, for a body PL/pgSQL's parser rejects: an ``EXECUTE`` whose text
    has a ``||`` or a ``format('… %s …')`` before its end."""
    try:
        tokens = _pg.scan(body)
    except Exception:  # an unterminated literal in a body PostgreSQL will reject anyway
        return []
    found: list[DynamicSqlHazard] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token.name != "EXECUTE":
            continue
        start = token.start
        depth = 0
        how = None
        while index < len(tokens):
            inner = tokens[index]
            if inner.name == "ASCII_40":
                depth += 1
            elif inner.name == "ASCII_41":
                depth -= 1
            elif depth <= 0 and inner.name in _ENDS:
                break
            elif inner.name == "Op" and body_text(body, inner) == "||":
                how = how or "||"
            elif (
                inner.name == "FORMAT"
                and index + 2 < len(tokens)
                and tokens[index + 1].name == "ASCII_40"
                and tokens[index + 2].name == "SCONST"
                and "%s" in body_text(body, tokens[index + 2])
            ):
                how = how or "format %s"
            index += 1
        if how is not None:
            found.append(DynamicSqlHazard(start, how))
    return found


def body_text(body: str, token: _pg.Token) -> str:
    """The text of a scanner token (pglast reports character offsets)."""
    return body[token.start : token.end + 1]
