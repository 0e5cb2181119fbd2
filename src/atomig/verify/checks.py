"""Check results of the preflight and post-deploy phases, their ledger record, and the probes
both phases share: a configured shell command, a configured SQL query, an HTTP URL.

Each result is written to the ledger's ``checks`` table (ledger entry 4) with the run id,
so that what was checked before and after a deploy — and who skipped what, and why — stays
next to the migrations it concerns.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from atomig.events import Event, Reporter
from atomig.run.ledger_compose import ledger_sql

Conn = psycopg.Connection[Any]
PASS, WARN, FAIL, SKIPPED = "pass", "warn", "fail", "skipped"
_LEVEL = {PASS: "info", WARN: "warning", FAIL: "error", SKIPPED: "info"}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check: ``outcome`` is pass, warn, fail or skipped; ``message`` says what was
    found, ``hint`` what to do about it."""

    phase: str
    name: str
    outcome: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ledger / ``--json`` shape."""
        return {
            "phase": self.phase,
            "check": self.name,
            "outcome": self.outcome,
            "message": self.message,
            "hint": self.hint,
            "details": self.details,
        }


_RECORD = """
    INSERT INTO {schema}.checks (run_id, phase, name, outcome, actor, message, details)
    SELECT %s, %s, r.name, r.outcome, %s, r.message, r.details
    FROM jsonb_to_recordset(%s::jsonb) AS r(name text, outcome text, message text,
                                           details jsonb)
"""


def record_checks(
    conn: Conn, schema: str, run_id: str, actor: str, results: list[CheckResult]
) -> None:
    """Write ``results`` to the ledger (one statement)."""
    if not results:
        return
    rows = [
        {
            "name": r.name,
            "outcome": r.outcome,
            "message": r.message,
            "details": {**r.details, **({"hint": r.hint} if r.hint else {})},
        }
        for r in results
    ]
    conn.execute(
        ledger_sql(_RECORD, schema),
        (run_id, results[0].phase, actor, Jsonb(rows)),
    )


def say(report: Reporter, result: CheckResult, *, quiet_pass: bool = True) -> None:
    """Tell the user about a result (passes are kept for the summary line)."""
    if result.outcome == PASS and quiet_pass:
        return
    if result.outcome == SKIPPED and not result.details.get("reason"):
        return
    level = _LEVEL[result.outcome]
    if result.outcome == SKIPPED:
        level = "warning"
    text = f"{result.phase}: {result.name}: {result.message}"
    if result.hint and result.outcome in (WARN, FAIL):
        text += f" ({result.hint})"
    report(
        Event(f"{result.phase}.{result.name}", text, level=level, data=result.to_dict())
    )


def summary(report: Reporter, phase: str, results: list[CheckResult]) -> None:
    """One line: what passed (in short) and what was skipped, so that the reader never has
    to guess which check did not pass."""
    passed = [r for r in results if r.outcome == PASS]
    if not passed:
        return
    text = (
        f"{phase}: {len(passed)} passed (" + "; ".join(r.message for r in passed) + ")"
    )
    # Warnings and failures were told one by one (say); skipped checks only here.
    skipped = [r for r in results if r.outcome == SKIPPED]
    if skipped:
        text += "; skipped: " + "; ".join(f"{r.name} ({r.message})" for r in skipped)
    report(
        Event(
            f"{phase}.summary",
            text,
            data={"results": [r.to_dict() for r in results]},
        )
    )


# ---- probes -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """Whether a probe succeeded, and what it said."""

    ok: bool
    message: str


def _tail(text: str, lines: int = 3) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return " / ".join(kept)


def run_command(
    command: str, *, cwd: Path, timeout_ms: int, env: dict[str, str]
) -> ProbeOutcome:
    """Run a configured shell command (as a git hook would be: ``/bin/sh -c``); it
    succeeds when it exits 0 within ``timeout_ms``."""
    try:
        done = subprocess.run(
            command,
            shell=True,  # the user's own command line, from their configuration
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout_ms / 1000,
            env={**os.environ, **env},
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ProbeOutcome(False, f"`{command}` did not finish within {timeout_ms} ms")
    except OSError as exc:
        return ProbeOutcome(False, f"`{command}` could not run: {exc}")
    said = _tail(done.stdout + "\n" + done.stderr)
    if done.returncode != 0:
        return ProbeOutcome(
            False,
            f"`{command}` exited {done.returncode}" + (f": {said}" if said else ""),
        )
    return ProbeOutcome(True, f"`{command}` succeeded" + (f": {said}" if said else ""))


def run_query(conn: Conn, query: str, timeout_ms: int) -> ProbeOutcome:
    """Run a configured SQL query read-only; it succeeds when its first row's first
    column is true (or any value other than NULL and false)."""
    try:
        with conn.transaction():
            conn.execute(b"SET TRANSACTION READ ONLY")
            conn.execute(
                "SELECT set_config('statement_timeout', %s, true)", (f"{timeout_ms}ms",)
            )
            # The user's own SQL from their configuration, run as written.
            row = conn.execute(query.encode("utf-8")).fetchone()
    except psycopg.Error as exc:
        reason = (exc.diag.message_primary or str(exc)).strip()
        return ProbeOutcome(False, f"the query failed: {reason}")
    value = row[0] if row else None
    if value is None or value is False:
        return ProbeOutcome(False, f"the query returned {value!r}")
    return ProbeOutcome(True, f"the query returned {value!r}")


def fetch_url(url: str, timeout_ms: int) -> ProbeOutcome:
    """GET ``url``; it succeeds on a 2xx answer within ``timeout_ms``."""
    if not url.startswith(("http://", "https://")):
        return ProbeOutcome(False, f"{url}: only http:// and https:// URLs are fetched")
    # Imported here: only a configured health URL needs urllib (4 ms of every start-up).
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout_ms / 1000) as answer:
            return ProbeOutcome(True, f"GET {url}: {answer.status}")
    except urllib.error.HTTPError as exc:
        return ProbeOutcome(False, f"GET {url}: {exc.code} {exc.reason}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return ProbeOutcome(False, f"GET {url}: {reason}")
