"""The statement model: SQL text → statements with spans and facts. The only pglast user."""

from atomig.sql.classify import statement_facts
from atomig.sql.facts import (
    QualifiedName,
    RelationLock,
    StatementFacts,
    TransactionControl,
)
from atomig.sql.locks import LockMode
from atomig.sql.parse import (
    Comment,
    Script,
    Statement,
    StatementDirective,
    parse_script,
)
from atomig.sql.spans import Span
from atomig.sql.versions import ServerVersion

__all__ = [
    "Comment",
    "LockMode",
    "QualifiedName",
    "RelationLock",
    "Script",
    "ServerVersion",
    "Span",
    "Statement",
    "StatementDirective",
    "StatementFacts",
    "TransactionControl",
    "parse_script",
    "statement_facts",
]
