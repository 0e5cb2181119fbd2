"""Statements → ordered steps with their session envelope and retry policy. Pure."""

from atomig.plan.envelope import SessionEnvelope
from atomig.plan.model import Plan, RetryPolicy, Step, StepKind
from atomig.plan.planner import plan_migration

__all__ = [
    "Plan",
    "RetryPolicy",
    "SessionEnvelope",
    "Step",
    "StepKind",
    "plan_migration",
]
