"""Changes a statement makes to a session setting: ``SET``, ``SET LOCAL``, ``SET … TO
DEFAULT``, ``RESET``, ``RESET ALL`` and ``SELECT set_config(name, value, is_local)``; and
settings stored for later sessions (``ALTER DATABASE | ROLE … SET``, ``ALTER SYSTEM``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from atomig.sql.parse import Statement

ALL_SETTINGS = "*"  # the name of a RESET ALL


@dataclass(frozen=True, slots=True)
class SettingChange:
    """A statement's change to setting ``name`` (``"*"``: every setting): ``value`` is the
    new value as text, ``None`` for the server's default."""

    name: str
    value: str | None
    local: bool


def setting_change(stmt: Statement) -> SettingChange | None:
    """What ``stmt`` does to a setting, when its text tells (constant values only).

    >>> from atomig.sql.parse import parse_script
    >>> [setting_change(s) for s in parse_script(
    ...     "SET lock_timeout = 0; RESET ALL; SELECT set_config('lock_timeout', '5s', true)")]
    ... # doctest: +NORMALIZE_WHITESPACE
    [SettingChange(name='lock_timeout', value='0', local=False),
     SettingChange(name='*', value=None, local=False),
     SettingChange(name='lock_timeout', value='5s', local=True)]
    """
    body = stmt.body
    if stmt.kind == "VariableSetStmt":
        return _variable_set(body)
    if stmt.kind != "SelectStmt" or body.get("fromClause"):
        return None
    targets: list[Any] = body.get("targetList") or []
    call = targets[0].get("ResTarget", {}).get("val", {}) if len(targets) == 1 else {}
    function = call.get("FuncCall")
    if function is None:
        return None
    names: list[Any] = function.get("funcname") or []
    called: list[Any] = function.get("args") or []
    if not names or names[-1].get("String", {}).get("sval") != "set_config":
        return None
    texts = [_constant(arg) for arg in called]
    if len(texts) != 3 or texts[0] is None or texts[1] is None:
        return None
    if texts[2] not in ("true", "false"):
        return None
    return SettingChange(texts[0].lower(), texts[1], texts[2] == "true")


def stored_setting_change(stmt: Statement) -> tuple[str, SettingChange] | None:
    """A setting stored for future sessions (``ALTER DATABASE … SET``, ``ALTER ROLE … SET``,
    ``ALTER SYSTEM SET``): who it applies to, and the change.

    >>> from atomig.sql.parse import parse_script
    >>> [stored_setting_change(s) for s in parse_script(
    ...     "ALTER ROLE app SET work_mem = '64MB'; ALTER SYSTEM RESET work_mem")]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('role app', SettingChange(name='work_mem', value='64MB', local=False)),
     ('the server', SettingChange(name='work_mem', value=None, local=False))]
    """
    body = stmt.body
    change = _variable_set(body.get("setstmt") or {})
    if change is None:
        return None
    if stmt.kind == "AlterDatabaseSetStmt":
        return f"database {body.get('dbname', '')}", change
    if stmt.kind == "AlterRoleSetStmt":
        role = (body.get("role") or {}).get("rolename")
        return (f"role {role}" if role else "every role"), change
    if stmt.kind == "AlterSystemStmt":
        return "the server", change
    return None


def _variable_set(body: Mapping[str, Any]) -> SettingChange | None:
    """A ``SET`` / ``RESET`` (the node of ``SET`` and of ``ALTER … SET``) as a change."""
    kind, local = body.get("kind"), bool(body.get("is_local"))
    if kind == "VAR_RESET_ALL":
        return SettingChange(ALL_SETTINGS, None, False)
    name = str(body.get("name", "")).lower()
    if kind in ("VAR_RESET", "VAR_SET_DEFAULT"):
        return SettingChange(name, None, local)
    args: list[Any] = body.get("args") or []
    value = _constant(args[0]) if kind == "VAR_SET_VALUE" and len(args) == 1 else None
    return None if value is None else SettingChange(name, value, local)


def _constant(node: Any) -> str | None:
    """A constant as the text PostgreSQL reads for a setting (``None``: not a constant)."""
    const = node.get("A_Const") if isinstance(node, dict) else None
    if const is None:
        return None
    if "sval" in const:
        return str(const["sval"].get("sval", ""))
    if "ival" in const:
        return str(const["ival"].get("ival", 0))
    if "fval" in const:
        return str(const["fval"].get("fval", "0"))
    if "boolval" in const:
        return "true" if const["boolval"].get("boolval") else "false"
    return None
