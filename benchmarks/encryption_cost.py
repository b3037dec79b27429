"""CPU cost of payload encryption per micro-turn (`schemas.encryption`), with timeit.

One turn's events: the 6400-byte AudioChunk in, the MicroTurn (6400 bytes of audio and a line of
text), the ModelOutput (6400 bytes of audio). Each is encrypted once (by its producer) and opened
once (by its reader), and compared with the wire codec alone (encode + decode).

    .venv/bin/python benchmarks/encryption_cost.py
"""

from __future__ import annotations

import timeit

from schemas import AudioChunk, Event, MicroTurn, ModelOutput, decode, encode
from schemas.encryption import SessionCipher, new_data_key

NUMBER = 20_000


def turn_events() -> list[Event]:
    def env(stream: str) -> dict[str, object]:
        return {"event_id": f"call-1/{stream}/7", "session_id": "call-1", "seq": 7, "event_time_ms": 1400, "turn": 7}

    return [
        AudioChunk(**env("audio"), samples=b"\x01\x02" * 3200),  # type: ignore[arg-type]
        MicroTurn(**env("turns"), audio=b"\x01\x02" * 3200, text="hello there", event_ids=("call-1/audio/7",)),  # type: ignore[arg-type]
        ModelOutput(**env("output"), action="SPEAK", text="sure", audio=b"\x03\x04" * 3200),  # type: ignore[arg-type]
    ]


def main() -> None:
    cipher, events = SessionCipher("call-1", new_data_key()), turn_events()

    def encrypt_open() -> None:
        for event in events:
            cipher.open(cipher.encrypt(event))

    def wire() -> None:
        for event in events:
            decode(encode(event))

    def wire_encrypted() -> None:
        for event in events:
            cipher.open(decode(encode(cipher.encrypt(event))))

    for name, run in (
        ("encrypt + open", encrypt_open),
        ("encode + decode (no encryption)", wire),
        ("encrypt + encode + decode + open", wire_encrypted),
    ):
        best = min(timeit.repeat(run, number=NUMBER, repeat=5)) / NUMBER
        print(f"{name:34} {best * 1e6:7.1f} us per turn (3 events, best of 5 x {NUMBER})")


if __name__ == "__main__":
    main()
