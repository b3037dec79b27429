"""Generating a large archive directly as Parquet, in bounded memory, for the query benchmark.

Sessions of `turns` micro-turns, each turn archived as an AudioChunk, a MicroTurn and a ModelOutput
(the real mix), plus SessionStarted/SessionEnded, a text event every 10 turns, a delegation with
its task and result every 200 turns and a few dead letters. Columns follow the archive's real
schemas (`processors.archiver.tables`), so the real views and reports run over them. Payload
columns (audio, video, JPEG) hold 16-byte placeholders: no query reads them and Parquet stores
each column apart, so their size does not change what the queries read.

Speech follows a 20-turn cycle per session: the caller speaks for 6-10 turns, the model answers
after 1-3 turns, sometimes early (talk-over), with a backchannel now and then.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from processors.archiver.durable import write_parquet
from processors.archiver.tables import TABLES, TableSpec

PLACEHOLDER = b"\x00" * 16
T0_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z


def _ids(sessions: pa.Array, stream: str, seq: npt.NDArray[np.int64]) -> pa.Array:
    return pc.binary_join_element_wise(sessions, pa.array(seq).cast(pa.string()), f"/{stream}/")


def _table(spec: TableSpec, cols: dict[str, object], n: int, rng: np.random.Generator, topic: str) -> pa.Table:
    full: dict[str, object] = {}
    cols = {"encrypted": pa.array([b""] * n, type=pa.binary()), **cols}  # payloads in the clear (--no-encryption)
    for field in spec.schema:
        if field.name in cols:
            full[field.name] = cols[field.name]
        elif field.name == "kafka_topic":
            full[field.name] = pa.array([topic] * n)
        elif field.name in ("audit_digest", "audit_link"):
            full[field.name] = pa.array([PLACEHOLDER * 2] * n, type=field.type)
        elif field.name in ("kafka_offset", "audit_seq", "kafka_timestamp_ms"):
            full[field.name] = np.arange(n, dtype=np.int64)
        elif field.name == "kafka_partition":
            full[field.name] = rng.integers(0, 4, n, dtype=np.int32)
        elif pa.types.is_binary(field.type):
            full[field.name] = pa.array([PLACEHOLDER] * n, type=field.type)
        elif pa.types.is_string(field.type):
            full[field.name] = pa.array([""] * n)
        elif pa.types.is_list(field.type):
            full[field.name] = pa.array([[]] * n, type=field.type)
        elif pa.types.is_map(field.type):
            full[field.name] = pa.array([{}] * n, type=field.type)
        elif pa.types.is_boolean(field.type):
            full[field.name] = np.zeros(n, dtype=bool)
        else:
            full[field.name] = pa.nulls(n, field.type).fill_null(0)
    return pa.table(full, schema=spec.schema)


def _speech(rng: np.random.Generator, sessions: int, turns: int) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """(caller speaking, model action index) per (session, turn), shape (sessions, turns)."""
    cycle = np.arange(turns) % 20
    talk = rng.integers(6, 11, (sessions, 1))
    caller = cycle[None, :] < talk
    gap = rng.integers(-1, 4, (sessions, 1))  # -1: the model starts before the caller stops
    model_speaks = (cycle[None, :] >= talk + gap) & (cycle[None, :] < talk + gap + 6)
    action = np.where(model_speaks, 1, 0)
    action[(cycle[None, :] == 3) & (rng.random((sessions, turns)) < 0.3)] = 2  # BACKCHANNEL
    action[:, 150::200] = 3  # DELEGATE
    return caller, action


def write_batch(root: Path, first_session: int, sessions: int, turns: int, seed: int) -> int:
    """Write `sessions` sessions numbered from `first_session`; the number of events written."""
    rng = np.random.default_rng(seed)
    hour = f"date=2026-01-01/hour={first_session % 24:02d}"
    names = pa.array([f"s{first_session + i:07d}" for i in range(sessions)])
    caller, action = _speech(rng, sessions, turns)
    n = sessions * turns
    sess = pc.take(names, np.repeat(np.arange(sessions), turns))
    turn = np.tile(np.arange(turns, dtype=np.int64), sessions)
    wall = T0_NS + turn * 200_000_000
    pipeline_ns = (rng.lognormal(np.log(60.0), 0.35, n) * 1e6).astype(np.int64)
    env = {
        "session_id": sess,
        "seq": turn,
        "turn": turn,
        "event_time_ms": turn * 200,
        "wall_time_ns": wall,
        "schema_version": np.ones(n, dtype=np.int64),
    }
    rms = np.where(caller.ravel(), rng.uniform(0.05, 0.3, n), rng.uniform(0.0, 0.005, n)).astype(np.float32)
    last = turn == turns - 1  # the session's last turn ends its model sequence
    actions = pa.array(np.array(["LISTEN", "SPEAK", "BACKCHANNEL", "DELEGATE"])[action.ravel()])
    written = 3 * n
    tables = {
        "audio_chunk": (dict(env, event_id=_ids(sess, "audio", turn), rms=rms, valid_samples=np.full(n, 3200)), n),
        "micro_turn": (dict(env, event_id=_ids(sess, "turn", turn), closed_by=pa.array(["audio"] * n), final=last), n),
        "model_output": (
            dict(
                env,
                event_id=_ids(sess, "output", turn),
                action=actions,
                wall_time_ns=wall + pipeline_ns,
                input_wall_time_ns=wall,
                audio_rms=np.where(action.ravel() == 1, 0.2, 0.0).astype(np.float32),
                model_ms=pipeline_ns / 2e6,
                final=last,
            ),
            n,
        ),
    }
    s_seq = np.zeros(sessions, dtype=np.int64)
    tables["session_started"] = (
        {
            "session_id": names,
            "event_id": _ids(names, "session", s_seq),
            "seq": s_seq,
            "event_time_ms": s_seq,
            "wall_time_ns": np.full(sessions, T0_NS),
        },
        sessions,
    )
    tables["session_ended"] = (
        {
            "session_id": names,
            "event_id": _ids(names, "session", s_seq + 1),
            "seq": s_seq + 1,
            "event_time_ms": np.full(sessions, turns * 200),
            "turns": np.full(sessions, turns),
            "audio_chunks": np.full(sessions, turns),
            "reason": pa.array(["complete"] * sessions),
            "wall_time_ns": np.full(sessions, T0_NS + turns * 200_000_000),
        },
        sessions,
    )
    every = np.arange(0, n, 10)
    tables["text_event"] = (
        dict(
            {k: (pc.take(v, every) if isinstance(v, pa.Array) else v[every]) for k, v in env.items()},
            event_id=_ids(pc.take(sess, every), "text", turn[every]),
            text=pa.array(["a line of text"] * len(every)),
        ),
        len(every),
    )
    delegated = np.flatnonzero(action.ravel() == 3)
    d_env = {k: (pc.take(v, delegated) if isinstance(v, pa.Array) else v[delegated]) for k, v in env.items()}
    task_ids = _ids(pc.take(sess, delegated), "task", turn[delegated])
    tables["background_task"] = (dict(d_env, event_id=task_ids, task_id=task_ids), len(delegated))
    result_ns = (rng.lognormal(np.log(1500.0), 0.5, len(delegated)) * 1e6).astype(np.int64)
    tables["background_result"] = (
        dict(
            d_env,
            event_id=_ids(pc.take(sess, delegated), "result", turn[delegated]),
            task_id=task_ids,
            wall_time_ns=d_env["wall_time_ns"] + result_ns,
            status=pa.array(["ok"] * len(delegated)),
        ),
        len(delegated),
    )
    letters = np.arange(0, sessions, 50)
    tables["dead_letter"] = (
        {
            "session_id": pc.take(names, letters),
            "reason": pa.array(["x.input.audio[0]@1: expected a microturn event"] * len(letters)),
            "seq": letters.astype(np.int64),
        },
        len(letters),
    )
    for name, (cols, rows) in tables.items():
        spec = TABLES[name]
        table = _table(spec, cols, rows, rng, f"bench.{name}").sort_by(
            [("session_id", "ascending"), ("seq", "ascending")]
        )
        path = root / name / hour / f"part-{first_session:010d}-{spec.fingerprint}-bench.parquet"
        write_parquet(path, table, spec.binary_columns)
        written += rows if name not in ("audio_chunk", "micro_turn", "model_output") else 0
    return written


def generate(root: Path, events: int, turns: int = 600, batch_sessions: int = 250) -> tuple[int, int]:
    """Write sessions until about `events` events exist under `root`; (sessions, events) written."""
    per_session = 3 * turns + 2 + turns // 10
    sessions = max(1, round(events / per_session))
    written = 0
    for first in range(0, sessions, batch_sessions):
        written += write_batch(root, first, min(batch_sessions, sessions - first), turns, seed=first)
    return sessions, written
