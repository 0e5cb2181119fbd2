"""The verbs of atomig as plain functions: typed arguments in, result dataclasses out.

Nothing here prints or exits; progress goes to a :data:`~atomig.events.Reporter`. The CLI maps
one command onto each function. One module per area; everything is re-exported here.
"""

from atomig.api.migrate import (
    RunReport,
    accept_edit,
    diff_applied,
    migrate,
    plan,
    plan_to_dict,
    rollback,
    status,
)
from atomig.api.project import (
    InitResult,
    NewResult,
    embedded_info,
    embedded_stop,
    init_project,
    new_migration,
)
from atomig.api.schema import describe_table, read_database_schema

__all__ = [
    "InitResult",
    "NewResult",
    "RunReport",
    "accept_edit",
    "describe_table",
    "diff_applied",
    "embedded_info",
    "embedded_stop",
    "init_project",
    "migrate",
    "new_migration",
    "plan",
    "plan_to_dict",
    "read_database_schema",
    "rollback",
    "status",
]
