"""A rule: one module under :mod:`atomig.lint.rules`, read into a :class:`Rule` value.

A rule module holds (see STYLE.md "Rule module anatomy"):

* its docstring: first line the hazard, then ``Why``, ``Instead`` and ``Notes`` sections;
* ``ID``, ``SEVERITY``, ``CATEGORY`` (``locking``, ``operations``, ``compatibility``,
  ``types``, ``meta``) and ``TARGETS`` (parse-node kinds it is handed; ``SUBTYPES`` narrows
  ``AlterTableStmt`` to the subcommands it cares about);
* ``RUNNERS`` (optional): the ``--for-runner`` values the rule applies to; ``applies(options,
  direction)`` (optional): whether it runs on a file of that direction at all;
* ``BAD`` and ``GOOD``: SQL strings or :class:`Example` values — also its tests;
* ``DOCS``: ``(title, "page.html#ANCHOR")`` pairs, the exact sections of the PostgreSQL
  documentation (current version) that back the rule; the rule page links them;
* ``check(stmt, ctx)`` yielding :class:`~atomig.lint.finding.Hit`, and/or
  ``finish(ctx)`` yielding ``(statement, hit)`` pairs once a file has been read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from atomig.lint.finding import Hit, Severity

if TYPE_CHECKING:
    from atomig.lint.context import LintContext, LintOptions
    from atomig.sql.parse import Statement

CATEGORIES = ("locking", "operations", "compatibility", "types", "meta")
PG_DOCS = "https://www.postgresql.org/docs/current/"
Check = Callable[["Statement", "LintContext"], Iterable[Hit]]
Applies = Callable[["LintOptions", "str | None"], bool]
Finish = Callable[["LintContext"], Iterable[tuple["Statement | None", Hit]]]


@dataclass(frozen=True, slots=True)
class Example:
    """An example migration for a rule's docs and tests.

    Attributes:
        sql: the migration file (an up file unless ``direction`` says otherwise).
        before: SQL of an earlier migration, replayed as history (the schema it creates
            exists when ``sql`` is linted, and is applied first when the example is run).
        pg: ``(min, max)`` majors the example holds for (inclusive; ``None`` = open).
        runner: ``"atomig"`` or ``"other"`` (``--for-runner``).
        direction: ``"up"`` or ``"down"``.
        down: the down file of the migration (``None``: a down that drops what ``sql``
            creates is not needed for the example).
        apply: False for a GOOD example that cannot be applied as is (documented why).
        reviewed: whether the example migration counts as approved in the review gate
            (``None``: the project does not use the gate).
        file_name: the name of the example's file in a directory of atomig migrations
            (``before`` is the one before it), read as ``atomig lint`` reads the
            directory (``None``: a well-named migration).
    """

    sql: str
    before: str = ""
    pg: tuple[int | None, int | None] = (None, None)
    runner: str = "atomig"
    direction: str = "up"
    down: str | None = None
    apply: bool = True
    reviewed: bool | None = None
    file_name: str | None = None

    def holds_for(self, major: int) -> bool:
        """True when the example applies to PostgreSQL ``major``."""
        low, high = self.pg
        return (low is None or major >= low) and (high is None or major <= high)


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule as the engine and the docs see it."""

    id: str
    severity: Severity
    category: str
    summary: str
    doc: str
    targets: tuple[str, ...]
    subtypes: frozenset[str]
    bad: tuple[Example, ...]
    good: tuple[Example, ...]
    links: tuple[tuple[str, str], ...] = ()
    check: Check | None = None
    finish: Finish | None = None
    runners: tuple[str, ...] = ("atomig", "other")
    applies: Applies | None = None
    module: str = field(default="", compare=False)

    @property
    def locking(self) -> bool:
        """Locking/rewrite hazards: dropped for tables created in the same migration and
        lowered to info for small tables when the live catalog is known."""
        return self.category == "locking"


def _examples(items: Iterable[Any]) -> tuple[Example, ...]:
    return tuple(item if isinstance(item, Example) else Example(item) for item in items)


def rule_from_module(module: ModuleType) -> Rule:
    """Read a rule module into a :class:`Rule` (validating its anatomy)."""
    name = module.__name__
    doc = (module.__doc__ or "").strip()
    if not doc:
        raise ValueError(f"{name}: a rule module needs a docstring (the rule doc)")
    category = getattr(module, "CATEGORY", "")
    if category not in CATEGORIES:
        raise ValueError(f"{name}: CATEGORY must be one of {CATEGORIES}")
    check = getattr(module, "check", None)
    finish = getattr(module, "finish", None)
    if check is None and finish is None:
        raise ValueError(f"{name}: a rule needs check() or finish()")
    return Rule(
        id=module.ID,
        severity=module.SEVERITY,
        category=category,
        summary=" ".join(doc.split("\n\n", 1)[0].split()),
        doc=doc,
        targets=tuple(getattr(module, "TARGETS", ())),
        subtypes=frozenset(getattr(module, "SUBTYPES", ())),
        bad=_examples(getattr(module, "BAD", ())),
        good=_examples(getattr(module, "GOOD", ())),
        links=tuple(getattr(module, "DOCS", ())),
        check=check,
        finish=finish,
        runners=tuple(getattr(module, "RUNNERS", ("atomig", "other"))),
        applies=getattr(module, "applies", None),
        module=name,
    )
