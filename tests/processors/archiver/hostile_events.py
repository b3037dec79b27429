"""Hypothesis strategies for well-typed but hostile events: every field of its declared type, any value.

Integers span what MessagePack can carry (-2**63 .. 2**64 - 1), strings any Unicode, floats include
NaN and infinities, bytes any length up to a few KiB; the events are built from the msgspec
definitions, so a field added to an event is fuzzed too.
"""

from __future__ import annotations

from typing import Any

import msgspec.inspect as mi
from hypothesis import strategies as st

from processors.archiver.tables import TABLE_OF
from schemas import Event, encode

WIRE_INTS = st.one_of(
    st.integers(-(2**63), 2**64 - 1),
    st.sampled_from([0, -1, 2**31, 2**63 - 1, 2**63, 2**64 - 1, -(2**63)]),
)


def _of(t: mi.Type) -> st.SearchStrategy[Any]:
    if isinstance(t, mi.IntType):
        return WIRE_INTS
    if isinstance(t, mi.FloatType):
        return st.floats(allow_nan=True, allow_infinity=True)
    if isinstance(t, mi.StrType):
        return st.text(max_size=40)
    if isinstance(t, mi.BytesType):
        return st.binary(max_size=7000)
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(t.values)
    if isinstance(t, mi.UnionType):
        return st.one_of(*(_of(u) for u in t.types))
    if isinstance(t, mi.DictType):
        return st.dictionaries(_of(t.key_type), _of(t.value_type), max_size=4)
    if isinstance(t, mi.VarTupleType | mi.ListType):
        return st.lists(_of(t.item_type), max_size=4).map(tuple)
    raise TypeError(f"no strategy for {t}")


def hostile_event(session_ids: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Event]:
    """Any event type, every field hostile; session ids from `session_ids` (default: any text)."""

    def of_type(event_type: type[Event]) -> st.SearchStrategy[Event]:
        info = mi.type_info(event_type)
        assert isinstance(info, mi.StructType)
        fields = {f.name: _of(f.type) for f in info.fields}
        if session_ids is not None:
            fields["session_id"] = session_ids
        return st.fixed_dictionaries(fields).map(lambda values: event_type(**values))

    return st.one_of(*(of_type(t) for t in TABLE_OF))


def _flip(data: bytes, at: int, bit: int) -> bytes:
    i = at % len(data)
    return data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1 :]


def wire_records(session_ids: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Record values: hostile events on the wire, the same with one bit flipped, or arbitrary bytes."""
    wire = hostile_event(session_ids).map(encode)
    flipped = st.builds(_flip, wire, st.integers(0, 10_000), st.integers(0, 7))
    return st.one_of(wire, flipped, st.binary(max_size=200))
