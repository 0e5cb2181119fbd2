"""What a column default and a trigger depend on, as PostgreSQL records it in
``pg_depend`` (PG 15 and 18): the sequence a default reads, the function a trigger runs.

A default calling ``nextval``/``currval``/``setval`` with a literal name depends on that
sequence: the literal is a ``regclass`` constant (``'s'`` or ``'s'::regclass``), so
``DROP SEQUENCE s`` is rejected while the default is there (2BP01) and a rename of ``s``
is followed. ``'s'::text`` is resolved at each call: no dependency. A ``serial`` column's
default reads the sequence made for it; an identity column's sequence is internal to it
(``DROP SEQUENCE`` is rejected even with CASCADE). A trigger depends on its function.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from atomig.sql.facts import QualifiedName
from atomig.sql.nodes import name_list

Body = Mapping[str, Any]
_SEQUENCE_FUNCTIONS = frozenset({"nextval", "currval", "setval"})
SERIAL_TYPES = frozenset(
    {"smallserial", "serial", "bigserial", "serial2", "serial4", "serial8"}
)


def regclass_name(text: str) -> QualifiedName | None:
    """A ``regclass`` literal (``s``, ``app.s``, ``"S"``) as a name; ``None`` when it is
    not one PostgreSQL would read as a plain relation name.

    >>> regclass_name('app."Seq"')
    QualifiedName(schema='app', name='Seq')
    """
    parts: list[str] = []
    i = 0
    while i <= len(text):
        if text[i : i + 1] == '"':
            end = i + 1
            word = ""
            while True:
                close = text.find('"', end)
                if close < 0:
                    return None
                word += text[end:close]
                if text[close + 1 : close + 2] != '"':
                    break
                word += '"'
                end = close + 2
            i = close + 1
        else:
            end = text.find(".", i)
            end = len(text) if end < 0 else end
            word = text[i:end].strip().lower()
            if not word or not word.replace("_", "a").replace("$", "a").isalnum():
                return None
            i = end
        parts.append(word)
        if i < len(text) and text[i] != ".":
            return None
        i += 1
    if not 1 <= len(parts) <= 2:
        return None
    return (
        QualifiedName(parts[0], parts[1])
        if len(parts) == 2
        else QualifiedName(None, parts[0])
    )


def _literal(arg: Body) -> str | None:
    cast = arg.get("TypeCast")
    if cast is not None:
        names = [
            n["String"]["sval"] for n in cast["typeName"]["names"] if "String" in n
        ]
        if names[-1:] != ["regclass"]:
            return None  # 's'::text: looked up at each call, no dependency
        arg = cast.get("arg") or {}
    value = (arg.get("A_Const") or {}).get("sval")
    return None if value is None else str(value.get("sval", ""))


def default_sequences(expression: Body | None) -> list[QualifiedName]:
    """The sequences a default expression depends on (``nextval('s')`` anywhere in it)."""
    found: list[QualifiedName] = []
    stack: list[Any] = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            call = node.get("FuncCall")
            if call is not None:
                fname = [f["String"]["sval"] for f in call["funcname"] if "String" in f]
                args = call.get("args") or ()
                text = (
                    _literal(args[0])
                    if args and fname[-1:] and (fname[-1] in _SEQUENCE_FUNCTIONS)
                    else None
                )
                name = None if text is None else regclass_name(text)
                if name is not None:
                    found.append(name)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def column_default(coldef: Body) -> Body | None:
    """The ``DEFAULT`` expression of a ``ColumnDef`` dict."""
    for con in _constraints(coldef):
        if con.get("contype") == "CONSTR_DEFAULT":
            return con.get("raw_expr")
    return None


def is_serial(coldef: Body) -> bool:
    """The column is declared ``serial`` (``smallserial``, ``bigserial`` …)."""
    names = (coldef.get("typeName") or {}).get("names") or ()
    plain = [n["String"]["sval"] for n in names if "String" in n]
    return len(plain) == 1 and plain[0] in SERIAL_TYPES


def identity_sequence(constraint: Body) -> QualifiedName | None:
    """The ``SEQUENCE NAME`` an identity constraint gives its sequence, if any."""
    for item in constraint.get("options") or ():
        elem = item.get("DefElem") or {}
        if elem.get("defname") == "sequence_name":
            return name_list(elem["arg"]["List"]["items"])
    return None


def identity_constraint(coldef: Body) -> Body | None:
    """The ``GENERATED … AS IDENTITY`` constraint of a ``ColumnDef`` dict."""
    for con in _constraints(coldef):
        if con.get("contype") == "CONSTR_IDENTITY":
            return con
    return None


def _constraints(coldef: Body) -> Iterable[Body]:
    return [c["Constraint"] for c in coldef.get("constraints", ()) if "Constraint" in c]


def function_calls(expression: Any) -> list[tuple[QualifiedName, int]]:
    """The functions an expression (a default, CHECK, generated column, index expression
    or predicate, a view's query) calls by name, with the number of arguments of each
    call: PostgreSQL records a dependency on each one it resolves (``pg_depend``, PG 15
    and 18), so ``DROP FUNCTION`` of it is rejected while the expression is there."""
    found: list[tuple[QualifiedName, int]] = []
    stack: list[Any] = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            call = node.get("FuncCall")
            if call is not None and call.get("funcname"):
                name = name_list(call["funcname"])
                found.append((name, len(call.get("args") or ())))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


_INPUT_MODES = frozenset(
    {"FUNC_PARAM_IN", "FUNC_PARAM_INOUT", "FUNC_PARAM_VARIADIC", "FUNC_PARAM_DEFAULT"}
)


def argument_type(type_name: Body) -> str:
    """A function argument's type as its signature knows it: typmods are not part of a
    signature (``varchar(3)`` is ``varchar``), ``public`` is the unqualified schema.

    >>> argument_type({"names": [{"String": {"sval": "pg_catalog"}},
    ...     {"String": {"sval": "int4"}}], "arrayBounds": [{"Integer": {"ival": -1}}]})
    'int4[]'
    """
    names = [n["String"]["sval"] for n in type_name.get("names", ()) if "String" in n]
    if len(names) > 1 and names[-2] in ("pg_catalog", "public"):
        names = names[-1:]
    return ".".join(names) + ("[]" if type_name.get("arrayBounds") else "")


def function_signature(body: Body) -> tuple[tuple[str, ...], int, bool]:
    """A ``CREATE FUNCTION``'s input argument types, how many of them a call must pass
    (those without a default) and whether the last is VARIADIC (any number more)."""
    types: list[str] = []
    required, variadic = 0, False
    for item in body.get("parameters") or ():
        param = item.get("FunctionParameter") or {}
        if param.get("mode", "FUNC_PARAM_DEFAULT") not in _INPUT_MODES:
            continue
        types.append(argument_type(param.get("argType") or {}))
        variadic = param.get("mode") == "FUNC_PARAM_VARIADIC"
        if param.get("defexpr") is None:
            required = len(types)
    return tuple(types), required, variadic


def dropped_signature(obj: Body) -> tuple[str, ...] | None:
    """The input argument types a ``DROP FUNCTION`` object names; ``None`` without an
    argument list (``DROP FUNCTION f``: whichever single function bears the name)."""
    args = obj.get("ObjectWithArgs") or {}
    if args.get("args_unspecified"):
        return None
    return tuple(
        argument_type(a.get("TypeName") or {}) for a in args.get("objargs") or ()
    )
