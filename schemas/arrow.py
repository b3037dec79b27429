"""Arrow schemas derived from the event definitions: adding a field to an event adds a column.

`arrow_type` maps a msgspec type (read with `msgspec.inspect`) to an Arrow type; `event_fields`
gives an event type's columns, envelope first. The archive (processors/archiver/tables.py) adds
its own columns (where a record came from, its audit chain position) after these.
"""

from __future__ import annotations

import msgspec.inspect as mi
import pyarrow as pa

from schemas.envelope import Event
from schemas.errors import ArrowMappingError

_SIMPLE: dict[type[mi.Type], pa.DataType] = {
    mi.IntType: pa.int64(),
    mi.FloatType: pa.float64(),
    mi.StrType: pa.string(),
    mi.BytesType: pa.binary(),
    mi.BoolType: pa.bool_(),
}


def arrow_type(t: mi.Type, where: str) -> tuple[pa.DataType, bool]:
    """The Arrow type of msgspec type `t` and whether it is nullable; `where` names the field."""
    if isinstance(t, mi.UnionType):
        inner = [x for x in t.types if not isinstance(x, mi.NoneType)]
        if len(inner) == 1 and len(inner) < len(t.types):
            return arrow_type(inner[0], where)[0], True
    elif isinstance(t, mi.LiteralType):
        kinds = {type(v) for v in t.values}
        if kinds == {str}:
            return pa.string(), False
        if kinds == {int}:
            return pa.int64(), False
    elif isinstance(t, mi.DictType):
        return pa.map_(arrow_type(t.key_type, where)[0], arrow_type(t.value_type, where)[0]), False
    elif isinstance(t, mi.VarTupleType | mi.ListType):
        return pa.list_(arrow_type(t.item_type, where)[0]), False
    elif type(t) in _SIMPLE:
        return _SIMPLE[type(t)], False
    raise ArrowMappingError(
        f"mapping {where} to Arrow: expected int, float, str, bytes, bool, a literal, "
        f"a dict, a tuple or an optional of one of them; got {t!r}"
    )


def event_fields(event_type: type[Event]) -> tuple[str, list[pa.Field]]:
    """(schema tag, Arrow fields) of a concrete event type: the envelope's fields, then its own."""
    info = mi.type_info(event_type)
    if not isinstance(info, mi.StructType) or not isinstance(info.tag, str):
        raise ArrowMappingError(f"mapping {event_type.__name__}: expected a tagged msgspec Struct; got {info!r}")
    envelope = list(Event.__struct_fields__)
    by_name = {f.name: f for f in info.fields}
    order = envelope + [name for name in by_name if name not in envelope]
    fields = []
    for name in order:
        arrow, nullable = arrow_type(by_name[name].type, f"{event_type.__name__}.{name}")
        fields.append(pa.field(name, arrow, nullable=nullable))
    return info.tag, fields
