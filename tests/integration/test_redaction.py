"""A card number said in text and keyed as DTMF appears nowhere in Kafka or in the Parquet archive.

One PCM WebSocket call says the card (three spellings) and its CVV in chat text; one Twilio call
keys it digit by digit, once inside a sensitive window (`*` ... `#`) and once without one, then
its CVV. Every record of every topic of the test's prefix and every value of every Parquet file
the archiver wrote are then scanned: no spelling of the card may appear. Positive controls keep
the scan honest: a harmless marker sent in the same calls (chat text, call metadata, a short DTMF
entry) MUST be found, so the test fails loudly if payloads ever become unreadable to the scan
(e.g. encrypted): point `scan_for` at decrypted payloads then.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from aiokafka import AIOKafkaConsumer, TopicPartition
from websockets.asyncio.client import connect

from infra.stack import Stack
from infra.testing import ArchiverProcess
from processors.archiver.sync import wait_synced
from schemas import AudioChunk, DecodeError, TextEvent, Topics, decode
from streams.ingress import PcmProtocol, TwilioProtocol, place_call
from streams.tail import OutputTail, sessions_complete
from tests.streams.ingress.helpers import TOKEN, mulaw, running, talk_and_pause
from tests.streams.ingress.test_ingress_pcm import receive_all, send_realtime

CARD = "4111111111111111"
"""A Luhn-valid test card number."""
CARD_FORMS = (CARD, "4111 1111 1111 1111", "4111-1111-1111-1111")
"""Every spelling of the card the calls send."""
CVV = "737"
TEXT_MARKER = "okapi-canary-text"
"""Harmless text said in the same chat line as the card: must be found."""
CALL_MARKER = "okapi-canary-call"
"""Harmless call metadata of the Twilio call: must be found."""
DTMF_MARKER = "42"
"""A short DTMF entry (a menu choice) keyed in the same call: must be found as keyed."""


def scan_for(payloads: Iterable[bytes], needles: Iterable[str]) -> dict[str, int]:
    """How many of `payloads` contain each needle (UTF-8): the one place the leak scan happens.

    `payloads` are the plaintext bytes to search (raw Kafka record values and keys, Parquet cell
    values); once payloads are encrypted, pass the decrypted ones.
    """
    wanted = {needle: needle.encode() for needle in needles}
    found = dict.fromkeys(wanted, 0)
    for payload in payloads:
        for needle, raw in wanted.items():
            if raw in payload:
                found[needle] += 1
    return found


async def kafka_records(bootstrap: str, prefix: str) -> list[tuple[str, bytes, bytes]]:
    """(topic, raw value, raw key and headers) of every record on every topic under `prefix`."""
    topics = Topics(prefix)
    specs = [*topics.specs(), topics.checkpoint_spec()]
    parts = [TopicPartition(spec.name, p) for spec in specs for p in range(spec.partitions)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        present = await consumer.topics()
        parts = [tp for tp in parts if tp.topic in present]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        out: list[tuple[str, bytes, bytes]] = []
        deadline = time.monotonic() + 60
        while await _behind(consumer, ends) and time.monotonic() < deadline:
            for tp, batch in (await consumer.getmany(timeout_ms=500)).items():
                for message in batch:
                    headers = b"\0".join(value for _, value in message.headers or ())
                    out.append((tp.topic, message.value or b"", (message.key or b"") + b"\0" + headers))
    finally:
        await consumer.stop()
    assert out, f"no records under {prefix}"
    return out


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    return any([await consumer.position(tp) < end for tp, end in ends.items()])


def _cell_bytes(value: object) -> Iterator[bytes]:
    if value is None:
        return
    if isinstance(value, bytes):
        yield value
    elif isinstance(value, str):
        yield value.encode()
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _cell_bytes(k)
            yield from _cell_bytes(v)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _cell_bytes(item)
    else:
        yield str(value).encode()


def parquet_payloads(archive: Path) -> list[bytes]:
    """Every file under `archive` as raw bytes, every value of every Parquet file (decompressed), and
    each session's archived DTMF entries joined in order."""
    files = [p for p in archive.rglob("*") if p.is_file()]
    payloads = [p.read_bytes() for p in files]
    tables = [p for p in files if p.suffix == ".parquet"]
    assert tables, f"the archiver wrote no Parquet under {archive}"
    keyed: dict[str, list[tuple[int, str]]] = {}
    for path in tables:
        table = pq.read_table(path).to_pydict()
        for column in table.values():
            payloads += [b for cell in column for b in _cell_bytes(cell)]
        if {"speaker", "text", "seq", "session_id"} <= table.keys():  # DTMF keyed one per row, read as one string
            rows = zip(table["session_id"], table["seq"], table["speaker"], table["text"], strict=True)
            for session_id, seq, speaker, text in rows:
                if speaker == "dtmf":
                    keyed.setdefault(session_id, []).append((seq, text))
    return payloads + ["".join(t for _, t in sorted(entries)).encode() for entries in keyed.values()]


def keyed_sequences(records: list[tuple[str, bytes, bytes]], text_topic: str) -> list[bytes]:
    """Each session's DTMF TextEvents joined in order: digits keyed one per event, read as one string."""
    keyed: dict[str, list[tuple[int, str]]] = {}
    for topic, raw, _ in records:
        if topic != text_topic:
            continue
        try:
            event = decode(raw)
        except DecodeError:
            continue
        if isinstance(event, TextEvent) and event.speaker == "dtmf":
            keyed.setdefault(event.session_id, []).append((event.seq, event.text))
    return ["".join(text for _, text in sorted(seq)).encode() for seq in keyed.values()]


def _keys(start_s: float, keys: str, step_s: float = 0.1) -> list[tuple[float, str]]:
    return [(round(start_s + i * step_s, 2), key) for i, key in enumerate(keys)]


async def _ws_call(url: str) -> str:
    websocket = await connect(url, additional_headers={"Authorization": f"Bearer {TOKEN}"})
    await websocket.send(json.dumps({"type": "start", "label": "redaction"}))
    started = json.loads(await websocket.recv())
    session_id: str = started["session_id"]
    receiving = asyncio.create_task(receive_all(websocket))
    spoken, dashed, plain = CARD_FORMS[1], CARD_FORMS[2], CARD_FORMS[0]
    await websocket.send(json.dumps({"type": "text", "text": f"my card is {spoken} cvv {CVV} {TEXT_MARKER}"}))
    await websocket.send(json.dumps({"type": "text", "text": f"or {dashed}, or {plain}"}))
    pcm = (talk_and_pause(2.0, 300.0, rate=16_000)).astype(np.int16)
    await send_realtime(websocket, pcm)
    await receiving
    return session_id


async def test_a_card_said_and_keyed_is_nowhere_in_kafka_or_parquet(
    pipeline: Stack, topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = Topics(topic_prefix)
    archiver = ArchiverProcess(
        kafka_bootstrap,
        topic_prefix,
        tmp_path / "archive",
        tmp_path / "keys" / "audit.key",
        log_path=tmp_path / "a.log",
    )
    archiver.start()
    try:
        keys = (
            _keys(0.4, "*" + CARD + "#")  # inside a sensitive window
            + _keys(2.6, CARD + "#")  # no window: one run of digits
            + _keys(4.4, CVV + "#")
            + _keys(5.2, DTMF_MARKER + "#")
        )
        async with (
            OutputTail(kafka_bootstrap, topics.output) as capture,
            running(kafka_bootstrap, topic_prefix, TwilioProtocol(TOKEN)) as twilio,
            running(kafka_bootstrap, topic_prefix, PcmProtocol(TOKEN)) as pcm,
        ):
            twilio_call = place_call(
                f"ws://127.0.0.1:{twilio.port}/media",
                TOKEN,
                mulaw(talk_and_pause(6.0, 300.0)),
                tail_s=1.0,
                stream_sid="MZredaction",
                dtmf=keys,
                parameters={"marker": CALL_MARKER},
            )
            result, ws_session = await asyncio.gather(twilio_call, _ws_call(f"ws://127.0.0.1:{pcm.port}/pcm"))
            assert result.close_code == 1000, result.close_reason
            await capture.until(sessions_complete(["MZredaction", ws_session]), timeout_s=120)
        await wait_synced(kafka_bootstrap, topics, timeout_s=60)
    finally:
        archiver.stop()

    records = await kafka_records(kafka_bootstrap, topic_prefix)
    kafka = [raw for _, value, rest in records for raw in (value, rest)] + keyed_sequences(records, topics.text)
    archive = parquet_payloads(tmp_path / "archive")
    for where, payloads in (("kafka", kafka), ("parquet", archive)):
        found = scan_for(payloads, [*CARD_FORMS, TEXT_MARKER, CALL_MARKER])
        assert found[TEXT_MARKER] and found[CALL_MARKER], f"positive control missing in {where}: {found}"
        leaks = {form: n for form, n in found.items() if form in CARD_FORMS and n}
        assert not leaks, f"the card number is in {where}: {leaks}"
    sequences = keyed_sequences(records, topics.text)
    assert any(DTMF_MARKER.encode() in s for s in sequences), f"positive control: {DTMF_MARKER} not keyed {sequences}"
    chunks = [decode(value) for topic, value, _ in records if topic == topics.audio]
    masked = [c for c in chunks if isinstance(c, AudioChunk) and c.session_id == "MZredaction" and c.masked]
    assert masked and all(not any(c.samples) for c in masked), "the sensitive window stored no silent, flagged audio"
