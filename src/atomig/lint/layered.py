"""A mapping layered over another: reads fall through, writes and deletions stay on top.

The schema of a migrations directory is forked once per down file (the down is linted on the
state after its up, and the history goes on from the up). Copying the whole state for each
fork made linting a directory quadratic in its number of migrations (1,000 migrations spent
12 % of the run copying and freeing dicts); a layer costs nothing to make and only holds what
the down file changes. The base must not change while a layer over it is in use.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, Final, TypeVar

K = TypeVar("K")
V = TypeVar("V")

_MISSING: Final = object()
_REMOVED: Final = object()  # a key deleted in the layer but present in the base


class Layered(MutableMapping[K, V]):
    """``base`` as seen through the changes made to this mapping."""

    __slots__ = ("_base", "_top")

    def __init__(self, base: Mapping[K, V]) -> None:
        self._base = base
        self._top: dict[K, object] = {}

    def __getitem__(self, key: K) -> V:
        found = self._top.get(key, _MISSING)
        if found is _MISSING:
            return self._base[key]
        if found is _REMOVED:
            raise KeyError(key)
        return found  # type: ignore[return-value]  # only V values are stored besides markers

    def get(self, key: K, default: Any = None) -> Any:
        # (MutableMapping's get goes through __getitem__ and a KeyError per miss)
        found = self._top.get(key, _MISSING)
        if found is _MISSING:
            return self._base.get(key, default)
        return default if found is _REMOVED else found

    def __setitem__(self, key: K, value: V) -> None:
        self._top[key] = value

    def __delitem__(self, key: K) -> None:
        if key not in self:
            raise KeyError(key)
        if key in self._base:
            self._top[key] = _REMOVED
        else:
            del self._top[key]

    def __contains__(self, key: object) -> bool:
        found = self._top.get(key, _MISSING)  # type: ignore[arg-type]
        if found is _MISSING:
            return key in self._base
        return found is not _REMOVED

    def __iter__(self) -> Iterator[K]:
        for key, value in self._top.items():
            if value is not _REMOVED:
                yield key
        for key in self._base:
            if key not in self._top:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def changed(self) -> list[K]:
        """The keys written or deleted in this layer (not in the base)."""
        return list(self._top)

    def changes(self) -> dict[K, V | None]:
        """The keys written or deleted in this layer with their values (``None``:
        deleted)."""
        return {
            key: None if value is _REMOVED else value  # type: ignore[misc]
            for key, value in self._top.items()
        }

    def commit(self) -> dict[K, V | None]:
        """Write the changes into the base (a mutable mapping) and return what the base
        held before under each changed key (``None``: nothing)."""
        base = self._base
        assert isinstance(base, MutableMapping)
        before: dict[K, V | None] = {}
        for key, value in self._top.items():
            before[key] = base.get(key)
            if value is _REMOVED:
                base.pop(key, None)
            else:
                base[key] = value
        self._top.clear()
        return before
