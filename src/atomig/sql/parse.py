"""SQL text to :class:`Statement` objects, through libpg_query (``pglast``).

Parsing is done once per file with ``parse_sql_json``: the C parser emits JSON and we keep each
statement's parse tree as plain dicts in libpg_query's JSON shape (``{"IndexStmt": {...}}``).
That is an order of magnitude cheaper than building ``pglast.ast`` objects, and keeps pglast
types from leaking out of this package. Locations in that JSON are UTF-8 byte offsets; spans
are converted to character positions here.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from atomig.errors import SourceError, SourceLocation
from atomig.source.directives import FILE_DIRECTIVES, STATEMENT_DIRECTIVES
from atomig.sql.spans import ByteToChar, LineIndex, Span

Node = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment found between statements (where directives and suppressions live)."""

    text: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class StatementDirective:
    """A ``-- atomig: NAME key=value …`` comment attached to the statement after it."""

    name: str
    options: Mapping[str, str]
    line: int


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement of a file.

    Attributes:
        index: 0-based position in the file.
        text: the original text, without the terminating semicolon.
        start: character offset of the first token in the file.
        span: 1-based line/column region of ``text``.
        node: the parse tree, ``{"NodeType": {...}}`` as libpg_query's JSON.
        comments: the ``atomig`` comments written between the previous statement and this one.
        directives: the statement-level directives among those comments.
    """

    index: int
    text: str
    start: int
    span: Span
    node: Node
    comments: tuple[Comment, ...] = ()
    directives: tuple[StatementDirective, ...] = ()
    # Derived once at construction (rules read them for every statement): the parse node
    # type, e.g. "IndexStmt", and its fields (the value under that type).
    kind: str = field(init=False, repr=False, compare=False)
    body: Node = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        kind = next(iter(self.node))
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "body", self.node[kind])

    def directive(self, name: str) -> StatementDirective | None:
        """The statement-level directive called ``name``, if this statement has one."""
        for item in self.directives:
            if item.name == name:
                return item
        return None


@dataclass(frozen=True, slots=True)
class Script:
    """A parsed SQL file: its statements and the ``atomig`` comments before the first one."""

    path: str
    text: str
    statements: tuple[Statement, ...]
    leading_comments: tuple[Comment, ...] = field(default=())

    def __iter__(self) -> Iterator[Statement]:
        return iter(self.statements)

    def __len__(self) -> int:
        return len(self.statements)


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every ``(key, value)`` of a parse tree (dicts and lists as libpg_query's JSON has
    them), depth first, in order."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from walk(item)


def parse_script(text: str, path: str = "<string>") -> Script:
    """Parse ``text`` into statements with exact spans.

    Args:
        text: the SQL.
        path: the file name used in error locations.

    Raises:
        SourceError: a syntax error at ``file:line:column`` with PostgreSQL's own message,
            or a misplaced / unknown ``atomig`` directive.
    """
    # pglast is imported on first use (17 ms): `atomig up` with nothing pending and
    # `atomig status` import this module but parse nothing.
    from pglast import parser as _pg

    lines = LineIndex(text)
    try:
        raw = _pg.parse_sql_json(text)
    except _pg.ParseError as exc:
        message, offset = exc.args[0], exc.args[1] if len(exc.args) > 1 else 0
        line, column = lines.position(max(0, min(int(offset), len(text))))
        if not str(message).startswith("syntax error"):
            message = f"syntax error: {message}"
        raise SourceError(
            str(message),
            location=SourceLocation(path, line, column),
            hint=_syntax_hint(text, int(offset)),
        ) from None
    # Decoding a large parse tree allocates millions of containers, and building the
    # statements allocates more while they are alive; the cyclic collector would scan them
    # repeatedly for nothing (JSON cannot hold cycles).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(orjson.loads(raw), text, path, lines)
    finally:
        if was_enabled:
            gc.enable()


def _build(tree: dict[str, Any], text: str, path: str, lines: LineIndex) -> Script:
    """Statements with spans, comments and directives from the decoded parse tree."""
    to_char = ByteToChar(text)
    ascii_text = text.isascii()
    statements: list[Statement] = []
    append = statements.append
    leading: tuple[Comment, ...] = ()
    previous_end = 0
    position = lines.position
    size = len(text)
    for index, item in enumerate(tree.get("stmts", ())):
        location = item.get("stmt_location", 0)
        length = item.get("stmt_len", 0)
        if ascii_text:
            start, end = location, (location + length if length else size)
        else:
            start = to_char.offset(location)
            end = to_char.offset(location + length) if length else size
        body = text[start:end].rstrip().rstrip(";").rstrip()
        if "atomig" in text[previous_end:start]:
            comments = _atomig_comments(text[previous_end:start], previous_end, lines)
            directives = _statement_directives(comments, path, first=index == 0)
            if index == 0:
                leading = comments
        else:
            comments = directives = ()
        stop = start + len(body)
        line, column = position(start)
        end_line, end_column = position(stop - 1) if stop > start else (line, column)
        node = item["stmt"]
        kind = next(iter(node))
        append(
            _new_statement(
                index,
                body,
                start,
                Span(line, column, end_line, end_column + 1),
                node,
                comments,
                directives,
                kind,
                node[kind],
            )
        )
        previous_end = stop
    if not statements and "atomig" in text:
        leading = _atomig_comments(text, 0, lines)
    trailing = text[previous_end:] if statements else ""
    if "atomig" in trailing:
        for comment in _atomig_comments(trailing, previous_end, lines):
            if _directive_words(comment.text) is not None:
                raise SourceError(
                    "directive is not followed by a statement",
                    location=SourceLocation(path, comment.line, comment.column),
                )
    return Script(
        path=path, text=text, statements=tuple(statements), leading_comments=leading
    )


def _statement_factory() -> Any:
    """A constructor of :class:`Statement` that skips the frozen dataclass ``__init__``
    (one ``object.__setattr__`` per field): a file of 100k statements builds them in a third
    of the time. Same fields, same values."""
    new = object.__new__
    setters = [
        Statement.__dict__[name].__set__
        for name in (
            "index",
            "text",
            "start",
            "span",
            "node",
            "comments",
            "directives",
            "kind",
            "body",
        )
    ]
    s_index, s_text, s_start, s_span, s_node, s_comm, s_dir, s_kind, s_body = setters

    def make(
        index: int,
        text: str,
        start: int,
        span: Span,
        node: Node,
        comments: tuple[Comment, ...],
        directives: tuple[StatementDirective, ...],
        kind: str,
        body: Node,
    ) -> Statement:
        stmt: Statement = new(Statement)
        s_index(stmt, index)
        s_text(stmt, text)
        s_start(stmt, start)
        s_span(stmt, span)
        s_node(stmt, node)
        s_comm(stmt, comments)
        s_dir(stmt, directives)
        s_kind(stmt, kind)
        s_body(stmt, body)
        return stmt

    return make


_new_statement = _statement_factory()


def _syntax_hint(text: str, offset: int) -> str | None:
    line_start = text.rfind("\n", 0, offset) + 1
    if text[line_start : offset + 1].lstrip().startswith("\\"):
        return "psql meta-commands (\\set, \\i, \\copy …) are not SQL; atomig runs SQL only"
    if _after_copy_from_stdin(text[:line_start]):
        return (
            "the rows after COPY … FROM stdin are data that psql sends (pg_dump writes "
            "them so), not SQL: atomig runs SQL only; load data with INSERT, or outside "
            "the migration"
        )
    return None


def _after_copy_from_stdin(before: str) -> bool:
    """The last line of ``before`` (the text up to the failing line) that is not blank is
    ``COPY … FROM STDIN;``: the failing line is its inline data."""
    from pglast import parser as _pg

    last = before.rstrip().rsplit("\n", 1)[-1]
    try:
        names = [token.name for token in _pg.scan(last)]
    except _pg.ParseError:  # (an unterminated quote: not a COPY line)
        return False
    return names[:1] == ["COPY"] and names[-3:] == ["FROM", "STDIN", "ASCII_59"]


def _atomig_comments(gap: str, base: int, lines: LineIndex) -> tuple[Comment, ...]:
    """The comments in ``gap`` (text between statements) that mention ``atomig``."""
    from pglast import parser as _pg

    found = []
    for token in _pg.scan(gap):
        if token.name not in ("SQL_COMMENT", "C_COMMENT"):
            continue
        text = gap[token.start : token.end + 1]
        if "atomig" not in text:
            continue
        line, column = lines.position(base + token.start)
        found.append(Comment(text=text, line=line, column=column))
    return tuple(found)


def _directive_words(comment: str) -> list[str] | None:
    if not comment.startswith("--"):
        return None
    body = comment[2:].strip()
    if not body.startswith("atomig:"):
        return None
    return body[len("atomig:") :].split()


def _statement_directives(
    comments: tuple[Comment, ...], path: str, *, first: bool
) -> tuple[StatementDirective, ...]:
    """Statement-level directives among ``comments``; file-level ones are accepted (and
    skipped, atomig.source read them) only before the first statement."""
    directives = []
    for comment in comments:
        words = _directive_words(comment.text)
        if not words:
            continue
        name = words[0].partition("=")[0]
        where = SourceLocation(path, comment.line, comment.column)
        if name in STATEMENT_DIRECTIVES:
            options: dict[str, str] = {}
            for word in words[1:]:
                key, sep, value = word.partition("=")
                if not sep or not key or not value:
                    raise SourceError(
                        f"directive option {word!r} is not key=value", location=where
                    )
                options[key] = value
            directives.append(
                StatementDirective(name=name, options=options, line=comment.line)
            )
        elif name in FILE_DIRECTIVES:
            if not first:
                raise SourceError(
                    f"directive {name!r} applies to the whole migration: put it in the "
                    "comments at the top of the file",
                    location=where,
                )
        else:
            known = ", ".join(sorted(STATEMENT_DIRECTIVES | FILE_DIRECTIVES.keys()))
            raise SourceError(
                f"unknown directive {name!r}",
                location=where,
                hint=f"known directives: {known}",
            )
    return tuple(directives)
