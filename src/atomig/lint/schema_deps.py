"""The dependencies the schema replay records (:mod:`atomig.lint.schema_uses`), indexed
so that each change costs what it touches.

A *use* is something that needs other objects: a column default, identity, generated
column, trigger, CHECK constraint, index or view, keyed ``(use, schema, table, sub)``
(``sub``: the column, trigger, constraint or index; for a view, ``table`` is the view and
``sub`` is empty). What it needs are :class:`Need` values. DROP TABLE, a rename and DROP
SCHEMA look uses up by table, by needed object or by schema instead of scanning them all
(a scan per operation made a long history quadratic). The maps hold only immutable values,
so a fork layers them (:class:`~atomig.lint.layered.Layered`) like the rest of the state.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any, NamedTuple, TypeVar

from atomig.lint.layered import Layered
from atomig.lint.schema_model import Key, key_of
from atomig.sql.builtin_volatility import IMMUTABLE, STABLE, VOLATILE
from atomig.sql.depends import default_sequences, function_calls
from atomig.sql.facts import QualifiedName

UseKey = tuple[str, str, str, str]
K = TypeVar("K")
T = TypeVar("T")


class Need(NamedTuple):
    """An object a use needs: a ``sequence`` or a ``function`` (with its input argument
    types, when the history created it: ``()`` for a trigger's function)."""

    kind: str
    schema: str
    name: str
    args: tuple[str, ...] = ()

    @property
    def key(self) -> Key:
        """Its ``(schema, name)``."""
        return (self.schema, self.name)


_BUILTIN = IMMUTABLE | STABLE | VOLATILE  # pg_catalog's function names (PG 15 and 18)
# A function's signature as CREATE FUNCTION declares it: input types, how many a call
# must pass, and VARIADIC.
Signature = tuple[tuple[str, ...], int, bool]


class Uses:
    """The uses and what they need, with indexes by table, needed object and schema.

    The indexes hold sets, changed in place (a frozenset rebuilt per addition made a
    schema's set quadratic over a long history); a fork or copy shares them until it
    changes one, then copies that one (``_owned``: the sets this object may change)."""

    __slots__ = ("_owned", "by_need", "by_table", "in_schema", "needs", "signatures")

    def __init__(
        self,
        needs: MutableMapping[UseKey, tuple[Need, ...]] | None = None,
        by_table: MutableMapping[Key, set[UseKey]] | None = None,
        by_need: MutableMapping[Key, set[UseKey]] | None = None,
        in_schema: MutableMapping[str, set[Key]] | None = None,
        signatures: MutableMapping[Key, frozenset[Signature]] | None = None,
    ) -> None:
        self.needs = {} if needs is None else needs
        self.by_table = {} if by_table is None else by_table
        self.by_need = {} if by_need is None else by_need
        # Schema -> the tables and needed objects in it that have (had) an entry above.
        self.in_schema = {} if in_schema is None else in_schema
        # Functions the history created, by key -> their signatures.
        self.signatures = {} if signatures is None else signatures
        # (id() of an index map of this object, key): the sets this object made.
        self._owned: set[tuple[int, object]] = set()

    def fork(self) -> Uses:
        """A layer over these maps (they must not change while it is in use)."""
        return Uses(
            Layered(self.needs),
            Layered(self.by_table),
            Layered(self.by_need),
            Layered(self.in_schema),
            Layered(self.signatures),
        )

    def copy(self) -> Uses:
        """An independent copy (the sets are shared until either side changes one)."""
        self._owned = set()
        return Uses(
            dict(self.needs),
            dict(self.by_table),
            dict(self.by_need),
            dict(self.in_schema),
            dict(self.signatures),
        )

    def _add(self, index: MutableMapping[K, set[T]], key: K, item: T) -> None:
        present = index.get(key)
        if present is not None and item in present:
            return
        mine = (id(index), key)
        if present is None or mine not in self._owned:
            present = index[key] = set(present or ())
            self._owned.add(mine)
        present.add(item)

    def _discard(self, index: MutableMapping[K, set[T]], key: K, item: T) -> None:
        present = index.get(key)
        if present is None or item not in present:
            return
        mine = (id(index), key)
        if len(present) == 1:
            del index[key]
            self._owned.discard(mine)
        elif mine in self._owned:
            present.discard(item)
        else:
            index[key] = present - {item}
            self._owned.add(mine)

    # ---- the uses ---------------------------------------------------------------------

    def set(self, key: UseKey, needs: Iterable[Need]) -> None:
        """Record what ``key`` needs now (nothing: it needs nothing any more)."""
        found = tuple(dict.fromkeys(needs)) if needs else ()
        if key in self.needs:
            self.remove(key)
        if not found:
            return
        self.needs[key] = found
        table = (key[1], key[2])
        self._add(self.by_table, table, key)
        self._add(self.in_schema, key[1], table)
        for need in found:
            self._add(self.by_need, need.key, key)
            self._add(self.in_schema, need.schema, need.key)

    def remove(self, key: UseKey) -> tuple[Need, ...] | None:
        """Forget ``key``; what it needed, if anything."""
        needs = self.needs.pop(key, None)
        if needs is not None:
            self._discard(self.by_table, (key[1], key[2]), key)
            for need in needs:
                self._discard(self.by_need, need.key, key)
        return needs

    def of_table(self, table: Key) -> tuple[UseKey, ...]:
        """The uses of a table (or view)."""
        return tuple(self.by_table.get(table, ()))

    def needing(self, target: Key) -> tuple[UseKey, ...]:
        """The uses that need an object called ``target`` (of any kind)."""
        return tuple(self.by_need.get(target, ()))

    def move_table(self, old: Key, new: Key) -> None:
        """A table (or view) renamed or moved: its uses are keyed by its new name."""
        for key in self.of_table(old):
            needs = self.remove(key)
            if needs is not None:
                self.set((key[0], *new, key[3]), needs)

    def move_need(self, old: Key, new: Key, kind: str | None = None) -> None:
        """An object (of ``kind``, any when ``None``) renamed or moved: the uses that need
        it need it under its new name (the dependency is on the object)."""
        for key in self.needing(old):
            needs = self.needs.get(key, ())
            self.set(
                key,
                (
                    n._replace(schema=new[0], name=new[1])
                    if n.key == old and kind in (None, n.kind)
                    else n
                    for n in needs
                ),
            )

    def keys_in(self, schema: str) -> tuple[Key, ...]:
        """The tables and needed objects of ``schema`` that uses are (were) keyed by."""
        return tuple(self.in_schema.get(schema, ()))

    def rename_schema(self, old: str, new: str) -> None:
        """ALTER SCHEMA … RENAME: everything in it is keyed by the new name."""
        for key in self.keys_in(old):
            self.move_table(key, (new, key[1]))
            self.move_need(key, (new, key[1]))
        for fkey, signatures in list(self.signatures.items()):
            if fkey[0] == old:
                del self.signatures[fkey]
                self.signatures[(new, fkey[1])] = signatures

    # ---- functions --------------------------------------------------------------------

    def define(self, function: Key, signature: Signature) -> None:
        """CREATE [OR REPLACE] FUNCTION (a replaced one keeps its signature)."""
        known = self.signatures.get(function, frozenset())
        same = {s for s in known if s[0] == signature[0]}
        self.signatures[function] = (known - same) | {signature}

    def undefine(self, function: Key, args: tuple[str, ...] | None) -> None:
        """DROP FUNCTION (``args`` ``None``: the one function of that name)."""
        known = self.signatures.get(function)
        if known is not None:
            left = frozenset(s for s in known if args is not None and s[0] != args)
            if left:
                self.signatures[function] = left
            else:
                del self.signatures[function]

    def rename_function(self, old: Key, new: Key, args: tuple[str, ...] | None) -> None:
        """ALTER FUNCTION … RENAME TO / SET SCHEMA: the signature moves, and the uses of
        that function (only: an overload stays) need it under its new name."""
        known = self.signatures.get(old, frozenset())
        moving = {s for s in known if args is None or s[0] == args}
        if moving:
            self.undefine(old, None if moving == known else args)
            for signature in moving:
                self.define(new, signature)
        for key in self.needing(old):
            self.set(
                key,
                (
                    n._replace(schema=new[0], name=new[1])
                    if n.key == old
                    and n.kind == "function"
                    and (args is None or n.args == args)
                    else n
                    for n in self.needs.get(key, ())
                ),
            )

    def resolve(self, function: Key, arity: int) -> tuple[str, ...] | None:
        """The argument types of the one function the history created under that name
        that a call with ``arity`` arguments can be (``None``: none known, or several:
        which one PostgreSQL picked depends on the argument types)."""
        fits = [
            types
            for types, required, variadic in self.signatures.get(function, ())
            if required <= arity and (variadic or arity <= len(types))
        ]
        return fits[0] if len(fits) == 1 else None


def expression_needs(
    uses: Uses, expression: Any, *, sequences: bool = True
) -> list[Need]:
    """What an expression needs: the sequences it reads by a literal name
    (``nextval('s')``) and the functions the history created that it calls (when the
    call tells which one: :meth:`Uses.resolve`)."""
    found = (
        [Need("sequence", *key_of(s)) for s in default_sequences(expression)]
        if sequences
        else []
    )
    if not uses.signatures:  # (the history created no function: no walk for calls)
        return found
    for name, arity in function_calls(expression):
        if name.schema is None and name.name in _BUILTIN:
            # pg_catalog comes first on the search path: which of the two PostgreSQL
            # picks depends on the argument types (lower(text) is not public.lower(int)).
            continue
        key = key_of(name)
        args = uses.resolve(key, arity)
        if args is not None:
            found.append(Need("function", *key, args))
    return found


def record_uses(
    uses: Uses, use: str, table: QualifiedName, sub: str, expression: Any
) -> None:
    """Record what a CHECK constraint (``use`` ``check``, ``sub`` its name), an index
    (``index``, its name) or a view (``view``, ``table`` the view) needs, as the replay
    makes it (replacing what an earlier one of that name needed). Only a view's reads of
    sequences are looked for: an index rejects ``nextval`` (volatile), and a CHECK
    calling it would fail every other row."""
    key = (use, *key_of(table), sub)
    needs = expression_needs(uses, expression, sequences=use == "view")
    if needs or key in uses.needs:
        uses.set(key, needs)
