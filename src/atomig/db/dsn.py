"""Database URLs: validation and masking.

Every DSN that reaches a message, a log or JSON output goes through :func:`mask_dsn`, which
builds a summary from an allow-list of fields instead of trying to redact a password out of
a string (a password may hold ``@``, ``:`` or ``/``).
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from atomig.errors import ConfigError

_SHOWN = ("user", "host", "port", "dbname")


@dataclass(frozen=True, slots=True)
class Target:
    """A database to connect to: the secret conninfo and what may be shown of it."""

    conninfo: str
    display: str
    source: str
    password: str | None = None
    embedded: bool = False

    def scrub(self, text: str) -> str:
        """``text`` with the password (if any) replaced, for error messages from libpq."""
        if self.password:
            return text.replace(self.password, "***")
        return text


def mask_dsn(params: dict[str, str | int | None]) -> str:
    """A URL-like summary of connection parameters without the password.

    >>> mask_dsn({"user": "app", "password": "p@ss:w", "host": "db", "port": "5432",
    ...           "dbname": "shop"})
    'postgresql://app@db:5432/shop'
    >>> mask_dsn({"host": "/run/pg", "dbname": "x"})
    'postgresql://?host=/run/pg/x'
    """
    user = str(params.get("user") or "")
    host = str(params.get("host") or "")
    port = str(params.get("port") or "")
    dbname = str(params.get("dbname") or "")
    location = (
        f"?host={host}" if host.startswith("/") else host + (f":{port}" if port else "")
    )
    auth = f"{user}@" if user else ""
    return f"postgresql://{auth}{location}/{dbname}"


def parse_target(url: str, source: str, *, embedded: bool = False) -> Target:
    """Validate a URL or ``key=value`` DSN and wrap it with its masked form.

    Raises:
        ConfigError: when the text is not a PostgreSQL connection string. The message never
            repeats the text itself, which may hold a password.
    """
    if url.startswith(("postgres://", "postgresql://")) or "=" in url:
        try:
            params = conninfo_to_dict(url)
        except ProgrammingError as exc:
            reason = str(exc).replace(url, "<url>").splitlines()[0]
            raise ConfigError(
                f"invalid database URL (from {source}): {_scrub_unparsed(reason, url)}",
                hint="expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME; "
                "percent-encode special characters in the password (@ is %40, : is %3A)",
            ) from None
    else:
        scheme = url.split(":", 1)[0] if ":" in url else ""
        what = f"scheme {scheme!r}" if scheme and "@" not in scheme else "text"
        raise ConfigError(
            f"invalid database URL (from {source}): unsupported {what}",
            hint="expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME (PostgreSQL only)",
        )
    port = str(params.get("port") or "")
    if port and not all(part.isdigit() for part in port.split(",")):
        raise ConfigError(
            f"invalid database URL (from {source}): port {port!r} is not a number",
            hint="expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME",
        )
    password = params.get("password")
    shown = {k: params.get(k) for k in _SHOWN}
    return Target(
        conninfo=make_conninfo(url),
        display=mask_dsn(shown),
        source=source,
        password=str(password) if password else None,
        embedded=embedded,
    )


def _scrub_unparsed(reason: str, url: str) -> str:
    # An unparsable URL may still contain a password between ':' and '@'; drop anything that
    # looks like the user-info part before showing libpq's reason.
    if "@" in url and "://" in url:
        userinfo = url.split("://", 1)[1].rsplit("@", 1)[0]
        if userinfo:
            reason = reason.replace(userinfo, "***")
    return reason
