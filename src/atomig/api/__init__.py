"""The verbs of atomig as plain functions: typed arguments in, result dataclasses out.

Nothing here prints or exits; progress goes to a :data:`~atomig.events.Reporter`. The CLI maps
one command onto each function. One module per area; everything is re-exported here.

The re-exports are lazy (PEP 562): ``atomig lint`` must not pay for importing psycopg and the
runner when it never connects (tests/lint/test_cli_lint.py checks that it does not).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # explicit re-exports for type checkers
    from atomig.api.adoption import (
        BaselineReport as BaselineReport,
    )
    from atomig.api.adoption import (
        baseline as baseline,
    )
    from atomig.api.audit import (
        HistoryReport as HistoryReport,
    )
    from atomig.api.audit import (
        history as history,
    )
    from atomig.api.batched import (
        BackfillResult as BackfillResult,
    )
    from atomig.api.batched import (
        backfill as backfill,
    )
    from atomig.api.batched import (
        backfill_status as backfill_status,
    )
    from atomig.api.dryrun import (
        DryRunReport as DryRunReport,
    )
    from atomig.api.dryrun import (
        dry_run as dry_run,
    )
    from atomig.api.edits import (
        AppliedDiff as AppliedDiff,
    )
    from atomig.api.edits import (
        accept_edit as accept_edit,
    )
    from atomig.api.edits import (
        compare_applied as compare_applied,
    )
    from atomig.api.edits import (
        diff_applied as diff_applied,
    )
    from atomig.api.gen import (
        GenResult as GenResult,
    )
    from atomig.api.gen import (
        HeldPhase as HeldPhase,
    )
    from atomig.api.gen import (
        generate as generate,
    )
    from atomig.api.gen import (
        held_phases as held_phases,
    )
    from atomig.api.gen import (
        release_phase as release_phase,
    )
    from atomig.api.linting import (
        LintReport as LintReport,
    )
    from atomig.api.linting import (
        lint as lint,
    )
    from atomig.api.migrations import (
        RunReport as RunReport,
    )
    from atomig.api.migrations import (
        migrate as migrate,
    )
    from atomig.api.migrations import (
        rollback as rollback,
    )
    from atomig.api.migrations import (
        status as status,
    )
    from atomig.api.planning import (
        plan as plan,
    )
    from atomig.api.planning import (
        plan_rollback_check as plan_rollback_check,
    )
    from atomig.api.planning import (
        plan_to_dict as plan_to_dict,
    )
    from atomig.api.project import (
        InitResult as InitResult,
    )
    from atomig.api.project import (
        NewResult as NewResult,
    )
    from atomig.api.project import (
        embedded_info as embedded_info,
    )
    from atomig.api.project import (
        embedded_stop as embedded_stop,
    )
    from atomig.api.project import (
        init_project as init_project,
    )
    from atomig.api.project import (
        new_migration as new_migration,
    )
    from atomig.api.recovery import (
        RecoverReport as RecoverReport,
    )
    from atomig.api.recovery import (
        recover as recover,
    )
    from atomig.api.review import (
        ApproveResult as ApproveResult,
    )
    from atomig.api.review import (
        ReviewReport as ReviewReport,
    )
    from atomig.api.review import (
        approve_migrations as approve_migrations,
    )
    from atomig.api.review import (
        review_status as review_status,
    )
    from atomig.api.safety import (
        VerifyReport as VerifyReport,
    )
    from atomig.api.safety import (
        verify as verify,
    )
    from atomig.api.schema import (
        describe_table as describe_table,
    )
    from atomig.api.schema import (
        read_database_schema as read_database_schema,
    )
    from atomig.api.tracing import (
        TraceReport as TraceReport,
    )
    from atomig.api.tracing import (
        trace as trace,
    )

_EXPORTS = {
    "atomig.api.adoption": ("BaselineReport", "baseline"),
    "atomig.api.audit": ("HistoryReport", "history"),
    "atomig.api.batched": ("BackfillResult", "backfill", "backfill_status"),
    "atomig.api.gen": (
        "GenResult",
        "HeldPhase",
        "generate",
        "held_phases",
        "release_phase",
    ),
    "atomig.api.linting": ("LintReport", "lint"),
    "atomig.api.edits": (
        "AppliedDiff",
        "accept_edit",
        "compare_applied",
        "diff_applied",
    ),
    "atomig.api.migrations": (
        "RunReport",
        "migrate",
        "rollback",
        "status",
    ),
    "atomig.api.planning": ("plan", "plan_rollback_check", "plan_to_dict"),
    "atomig.api.recovery": ("RecoverReport", "recover"),
    "atomig.api.project": (
        "InitResult",
        "NewResult",
        "embedded_info",
        "embedded_stop",
        "init_project",
        "new_migration",
    ),
    "atomig.api.dryrun": ("DryRunReport", "dry_run"),
    "atomig.api.safety": ("VerifyReport", "verify"),
    "atomig.api.tracing": ("TraceReport", "trace"),
    "atomig.api.review": (
        "ApproveResult",
        "ReviewReport",
        "approve_migrations",
        "review_status",
    ),
    "atomig.api.schema": ("describe_table", "read_database_schema"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "AppliedDiff",
    "ApproveResult",
    "BackfillResult",
    "BaselineReport",
    "DryRunReport",
    "GenResult",
    "HeldPhase",
    "HistoryReport",
    "InitResult",
    "LintReport",
    "NewResult",
    "RecoverReport",
    "ReviewReport",
    "RunReport",
    "TraceReport",
    "VerifyReport",
    "accept_edit",
    "approve_migrations",
    "backfill",
    "backfill_status",
    "baseline",
    "compare_applied",
    "describe_table",
    "diff_applied",
    "dry_run",
    "embedded_info",
    "embedded_stop",
    "generate",
    "held_phases",
    "history",
    "init_project",
    "lint",
    "migrate",
    "new_migration",
    "plan",
    "plan_rollback_check",
    "plan_to_dict",
    "read_database_schema",
    "recover",
    "release_phase",
    "review_status",
    "rollback",
    "status",
    "trace",
    "verify",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'atomig.api' has no attribute {name!r}")
    imported = import_module(module)
    # Bind every name of that module at once. No module here is named like a verb: the
    # import system sets the package attribute of a submodule's name to the module, which
    # would then hide a verb of that name (tests/unit/test_api_exports.py).
    for exported in _EXPORTS[module]:
        globals()[exported] = getattr(imported, exported)
    return globals()[name]
