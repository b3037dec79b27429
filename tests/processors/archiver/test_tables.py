"""Arrow schemas derived from the events, and the round trip event -> Parquet row -> same bytes."""

from __future__ import annotations

from pathlib import Path

import msgspec
import msgspec.inspect as mi
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from processors.archiver.batch import EpochBatch
from processors.archiver.durable import write_parquet
from processors.archiver.errors import ArchiveLayoutError
from processors.archiver.tables import ARCHIVE_COLUMNS, TABLE_OF, TABLES, arrow_type
from schemas import AudioChunk, Event, MicroTurn, ModelOutput, SessionStarted, decode, encode
from schemas.audit.chain import Chain
from tests.processors.archiver.samples import every_event


def test_every_event_type_has_a_table_with_envelope_first_and_archive_columns_last() -> None:
    assert len(TABLES) == 11  # 10 + playback
    for spec in TABLES.values():
        names = spec.schema.names
        assert names[:5] == ["event_id", "session_id", "seq", "event_time_ms", "turn"]
        assert names[-len(ARCHIVE_COLUMNS) :] == [f.name for f in ARCHIVE_COLUMNS]
        assert set(spec.event_type.__struct_fields__) == set(spec.event_fields)
    turn = TABLES["micro_turn"].schema
    assert turn.field("audio").type == pa.binary() and turn.field("audio").nullable
    assert turn.field("event_ids").type == pa.list_(pa.string())
    assert turn.field("closed_by").type == pa.string() and not turn.field("closed_by").nullable
    assert TABLES["session_started"].schema.field("media").type == pa.map_(pa.string(), pa.string())
    assert TABLES["audio_chunk"].schema.field("rms").type == pa.float32()
    assert TABLE_OF[ModelOutput].name == "model_output"


def test_unmappable_types_are_refused_naming_the_field() -> None:
    with pytest.raises(ArchiveLayoutError, match=r"Thing\.x"):
        arrow_type(mi.UnionType((mi.IntType(), mi.StrType())), "Thing.x")


def test_archived_rows_rebuild_the_exact_wire_bytes(tmp_path: Path) -> None:
    events = every_event()
    batch = EpochBatch(roll_bytes=1 << 30, roll_age_s=60)
    chain = Chain()
    for offset, event in enumerate(events):
        appended = chain.append(event.event_id, encode(event))
        batch.add(TABLE_OF[type(event)], event, ("t.x", 2, offset, 1_700_000_000_000), appended, 10)
    planned = list(batch.files(epoch=7))
    assert {p.relpath.split("/")[0] for p in planned} == {type(e).__struct_config__.tag for e in events}
    assert all("/date=2023-11-14/hour=22/part-0000000007-" in p.relpath for p in planned)
    rebuilt: dict[str, Event] = {}
    for p in planned:
        write_parquet(tmp_path / p.relpath, p.table, p.spec.binary_columns)
        for row in pq.read_table(tmp_path / p.relpath).to_pylist():
            rebuilt[row["event_id"]] = p.spec.event_from_row(row)
            assert row["kafka_topic"] == "t.x" and row["kafka_partition"] == 2
    assert not list(tmp_path.rglob("*.tmp"))
    for event in events:
        assert encode(rebuilt[event.event_id]) == encode(event), event.event_id
    assert isinstance(rebuilt["s1/session/0"], SessionStarted) and rebuilt["s1/session/0"].metadata["campaign"] == "x"
    assert isinstance(rebuilt["s1/turn/0"], MicroTurn) and rebuilt["s1/turn/0"].event_ids == ("a", "b")


def test_derived_energy_columns_and_rows_sorted_by_session_then_seq(tmp_path: Path) -> None:
    events = every_event("s2") + every_event("s1")
    batch = EpochBatch(roll_bytes=1 << 30, roll_age_s=60)
    chains: dict[str, Chain] = {}
    for offset, event in enumerate(events):
        appended = chains.setdefault(event.session_id, Chain()).append(event.event_id, encode(event))
        batch.add(TABLE_OF[type(event)], event, ("t.x", 0, offset, 0), appended, 10)
    audio = next(p.table for p in batch.files(1) if p.spec.event_type is AudioChunk)
    assert audio.column("session_id").to_pylist() == ["s1", "s1", "s2", "s2"]
    assert audio.column("seq").to_pylist() == [0, 1, 0, 1]
    rms = audio.column("rms").to_pylist()
    assert rms[0] == pytest.approx(0.5 / 2**0.5, rel=0.01) and rms[1] == 0.0


def test_canonical_bytes_are_the_wire_bytes_and_survive_an_added_field(tmp_path: Path) -> None:
    events = every_event()
    batch = EpochBatch(roll_bytes=1 << 30, roll_age_s=60)
    for offset, event in enumerate(events):
        batch.add(TABLE_OF[type(event)], event, ("t.x", 0, offset, 0), Chain().append("x", b""), 10)
    for p in batch.files(1):
        for row in p.table.to_pylist():
            assert p.spec.canonical(row) == encode(p.spec.event_from_row(row))
    spec = TABLES["text_event"]
    text = next(e for e in events if spec.event_type is type(e))
    row = next(p for p in batch.files(2) if p.spec is spec).table.to_pylist()[0]
    older = {k: v for k, v in row.items() if k != "speaker"}  # a file written before `speaker` existed
    assert b"speaker" not in spec.canonical(older)
    assert decode(spec.canonical(older)) == msgspec.structs.replace(text, speaker="caller")
