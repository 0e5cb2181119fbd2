"""The one place dataclasses become JSON for ``--json`` (stable, versioned shapes)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(document: Any) -> str:
    """Serialise a result (a dict or an object with ``to_dict``) as indented JSON."""
    if hasattr(document, "to_dict"):
        document = document.to_dict()
    return json.dumps(document, indent=2, default=_default, ensure_ascii=False)
