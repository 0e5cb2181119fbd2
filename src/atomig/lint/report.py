"""Findings rendered as text, JSON, SARIF 2.1.0 or GitHub workflow annotations.

No colours here: the text renderer takes an optional ``style(text, role)`` callable that
the CLI supplies on a TTY.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from atomig.lint.engine import LintResult
from atomig.lint.finding import Finding, Severity
from atomig.lint.registry import all_rules

Style = Callable[[str, str], str]
DOCS = "docs/rules/{}.md"
JSON_VERSION = 1
_SARIF_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "note",
}
_GITHUB_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "notice",
}


def _plain(text: str, role: str) -> str:
    return text


def summary(result: LintResult) -> str:
    """``3 errors, 1 warning, 0 info in 4 files (57 statements)``."""

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 or word == 'info' else 's'}"

    parts = [
        plural(result.count(Severity.ERROR), "error"),
        plural(result.count(Severity.WARNING), "warning"),
        plural(result.count(Severity.INFO), "info"),
    ]
    tail = f" ({result.suppressed} suppressed)" if result.suppressed else ""
    return (
        f"{', '.join(parts)} in {plural(result.files, 'file')} "
        f"({plural(result.statements, 'statement')}){tail}"
    )


def render_text(result: LintResult, style: Style | None = None) -> str:
    """``file:line:col: severity[rule] message``, the source line with a caret, the fix."""
    paint = style or _plain
    out: list[str] = []
    lines_of: dict[str, list[str]] = {}
    for f in result.findings:
        text = result.texts.get(f.path)
        if text is not None and f.path not in lines_of:
            lines_of[f.path] = text.splitlines()
        head = paint(f"{f.path}:{f.line}:{f.column}", "location")
        level = paint(f.severity.label, f.severity.label)
        out.append(f"{head}: {level}[{paint(f.rule, 'rule')}] {f.message}")
        source = lines_of.get(f.path, [])
        if 0 < f.line <= len(source):
            line = source[f.line - 1].expandtabs(1)
            width = (
                max(1, f.end_column - f.column)
                if f.end_line == f.line
                else max(1, len(line) - f.column + 1)
            )
            out.append(f"  {f.line:>4} | {line}")
            caret = " " * (f.column - 1) + "^" * min(width, max(1, len(line)))
            out.append(f"       | {paint(caret, f.severity.label)}")
        out.append(f"       = {paint('fix', 'fix')}: {f.fix}")
        out.append(f"       = see {DOCS.format(f.rule)}")
    out.append(summary(result))
    return "\n".join(out)


def to_json(result: LintResult) -> dict[str, Any]:
    """The documented JSON document (positions 1-based, end column exclusive)."""
    return {
        "version": JSON_VERSION,
        "files": result.files,
        "statements": result.statements,
        "findings": [f.to_dict() for f in result.findings],
    }


def render_json(result: LintResult) -> str:
    """:func:`to_json` serialised compactly (orjson: 100k findings in milliseconds)."""
    return orjson.dumps(to_json(result)).decode()


def to_sarif(result: LintResult, version: str = "") -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run; every rule is described in the driver."""
    rules = list(all_rules().values())
    index = {rule.id: i for i, rule in enumerate(rules)}
    driver: dict[str, Any] = {
        "name": "atomig",
        "rules": [
            {
                "id": rule.id,
                "name": "".join(part.capitalize() for part in rule.id.split("-")),
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.doc},
                "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
                "help": {"text": f"See {DOCS.format(rule.id)} in the atomig sources."},
                "properties": {"category": rule.category},
            }
            for rule in rules
        ],
    }
    if version:
        driver["version"] = version
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "results": [_sarif_result(f, index) for f in result.findings],
            }
        ],
    }


def _sarif_result(f: Finding, index: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": f.rule,
        "level": _SARIF_LEVEL[f.severity],
        "message": {"text": f"{f.message}. Fix: {f.fix}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": f.path.replace("\\", "/")},
                    "region": {
                        "startLine": f.line,
                        "startColumn": f.column,
                        "endLine": f.end_line,
                        "endColumn": f.end_column,
                    },
                }
            }
        ],
    }
    if f.rule in index:
        out["ruleIndex"] = index[f.rule]
    return out


def render_sarif(result: LintResult, version: str = "") -> str:
    """:func:`to_sarif` serialised."""
    return json.dumps(to_sarif(result, version), indent=2, ensure_ascii=False)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: Iterable[Finding]) -> str:
    """GitHub Actions workflow commands (``::error file=…,line=…::message``)."""
    out = []
    for f in findings:
        props = ",".join(
            [
                f"file={_escape_property(f.path)}",
                f"line={f.line}",
                f"col={f.column}",
                f"endLine={f.end_line}",
                f"endColumn={f.end_column}",
                f"title={_escape_property('atomig ' + f.rule)}",
            ]
        )
        message = _escape_data(f"{f.message}\nfix: {f.fix}")
        out.append(f"::{_GITHUB_LEVEL[f.severity]} {props}::{message}")
    return "\n".join(out)
