"""A spoken turn-taking corpus, generated: espeak-ng voices at telephone quality, caller-side
dialogues with labelled pauses, turn ends, backchannel opportunities and interruptions.

    python -m inference.training.speech OUT [--train N] [--heldout N]

writes OUT/train/*.wav|json and OUT/heldout/*.wav|json (16 kHz mono s16 WAV, which
`microturn stream` sends unchanged, and the labels `microturn stream --labels` records), plus
OUT/manifest.json. Nothing binary is committed: the corpus is a function of (split seed, index)
and the installed espeak-ng.

Each dialogue is the caller's side of a call: 2-3 caller turns. A turn is one sentence, or two parts
with a labelled moment between them:

- "pause": the first part trails off on a filler ("..., um", "and uh"), then 500-1000 ms of silence:
  the model should not take over;
- "backchannel": a long first clause (>= 2 s), then 250-450 ms: a listener would say "mm-hm".

After the turn, the caller is silent ("turn_end", the model should answer) for 2.2-3.0 s, or in a
quarter of the turns starts the next turn 0.7-1.5 s after the end ("interruption": by then a model
that answered is speaking). Telephone quality: 8 kHz, 300-3400 Hz band, G.711 mu-law, line noise
(white noise and mains hum), then back to 16 kHz. Voices and rates vary per dialogue; the held-out
split draws other dialogues (another seed) from the same voices and sentence stock.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from inference.network.config import TURN_SAMPLES
from inference.network.turns import Action, TurnInput
from inference.training.data import LabeledTurn, Session

RATE = 16_000
ESPEAK_RATE = 22_050
SPLITS = {"train": 0, "heldout": 1}
"""Split name -> seed of its dialogues."""
VOICES = ("en-us", "en-us+f3", "en-gb", "en-gb+f2", "en-gb-scotland", "en-029", "en-gb-x-rp+m3", "en-us+m5")
SPEEDS = (140, 155, 170, 185)
"""espeak-ng words per minute."""
_OPENINGS = (
    "Hi, I am calling about my internet bill.",
    "Hello, my parcel has not arrived yet.",
    "Good morning, I need to change my flight.",
    "Hi there, I would like to cancel my subscription.",
    "Hello, I was charged twice this month.",
    "Hi, my router keeps dropping the connection.",
    "Good afternoon, I forgot my password again.",
    "Hello, I want to move my appointment to Friday.",
)
_TRAILS = (
    ("I was wondering if, um", "you could check the order for me."),
    ("The problem is that, uh", "it stopped working on Monday."),
    ("So I tried to, um", "restart it twice already."),
    ("And then, uh", "the screen went completely black."),
    ("My account number is, um", "four four one two."),
    ("I think it was, uh", "sometime last week."),
    ("Could you maybe, um", "send me a new one?"),
    ("What I really need is, uh", "a refund to my card."),
)
_CLAUSES = (
    ("I bought the phone in your store on the high street last month,", "and the battery already dies by noon."),
    ("We have been customers of yours for almost eleven years now,", "so this is really disappointing."),
    ("I called on Tuesday and spoke to someone in your billing team,", "but nothing has changed since then."),
    ("The technician came to the house on Saturday morning,", "and he said the cable was fine."),
    ("My daughter set up the account for me on her laptop,", "and now I cannot log in at all."),
)
_SENTENCES = (
    "Can you tell me what happens next?",
    "That is all I wanted to know.",
    "Thanks, that would be great.",
    "How long will that take?",
    "Yes, that is correct.",
    "No, I did not get any email.",
    "Okay, please go ahead.",
    "Is there anything else you need from me?",
)


@dataclass(frozen=True)
class Dialogue:
    """One generated dialogue: its audio and labels."""

    name: str
    audio: npt.NDArray[np.int16]
    """16 kHz mono caller audio."""
    moments: list[dict[str, int | str]]
    speech_ms: list[list[int]]
    voice: str
    speed: int
    text: list[str]

    def labels_json(self) -> str:
        return json.dumps({"moments": self.moments, "speech_ms": self.speech_ms}, separators=(",", ":"))


def _resample(x: npt.NDArray[np.float64], src: int, dst: int) -> npt.NDArray[np.float64]:
    """Band-limited resampling by FFT (whole signal; fine offline)."""
    n = round(len(x) * dst / src)
    spectrum = np.fft.rfft(x)
    keep = n // 2 + 1
    out = np.zeros(keep, dtype=complex)
    m = min(keep, len(spectrum))
    out[:m] = spectrum[:m]
    return np.fft.irfft(out, n) * (n / len(x))


def espeak(text: str, voice: str, speed: int) -> npt.NDArray[np.float64]:
    """espeak-ng's rendering of `text` at 22.05 kHz, leading and trailing silence trimmed, in [-1, 1]."""
    try:
        raw = subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise RuntimeError(f"espeak-ng failed on {text!r} with voice {voice}: {exc} (is espeak-ng installed?)") from exc
    wave_ = np.frombuffer(raw[44:], dtype="<i2").astype(np.float64) / 32768.0
    loud = np.flatnonzero(np.abs(wave_) > 0.01)
    return wave_[loud[0] : loud[-1] + 1] if len(loud) else wave_[:0]


def telephone(x: npt.NDArray[np.float64], rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """16 kHz audio through an 8 kHz G.711 line with noise, back at 16 kHz."""
    narrow = _resample(x, RATE, 8000)
    spectrum = np.fft.rfft(narrow)
    freqs = np.fft.rfftfreq(len(narrow), 1 / 8000)
    spectrum[(freqs < 300) | (freqs > 3400)] = 0
    narrow = np.fft.irfft(spectrum, len(narrow))
    t = np.arange(len(narrow)) / 8000
    hum = 10 ** (rng.uniform(-60, -48) / 20) * np.sin(2 * np.pi * float(rng.choice([50.0, 60.0])) * t)
    narrow = narrow + rng.normal(0, 10 ** (rng.uniform(-62, -50) / 20), len(narrow)) + hum
    mu = 255.0
    coded = np.sign(narrow) * np.log1p(mu * np.clip(np.abs(narrow), 0, 1)) / np.log1p(mu)
    coded = np.round(coded * 127) / 127  # 8-bit companded
    narrow = np.sign(coded) * np.expm1(np.abs(coded) * np.log1p(mu)) / mu
    return _resample(narrow, 8000, RATE)


def _mix(
    pieces: list[tuple[int, npt.NDArray[np.float64]]], end_ms: int, rng: np.random.Generator
) -> npt.NDArray[np.int16]:
    """The placed utterances on one track of `end_ms` (+ 200 ms), through the telephone line."""
    total = np.zeros(end_ms * RATE // 1000 + RATE // 5, dtype=np.float64)
    for start, audio in pieces:
        begin = start * RATE // 1000
        total[begin : begin + len(audio)] += audio[: len(total) - begin]
    line = telephone(total, rng)
    pcm: npt.NDArray[np.int16] = np.clip(np.round(line * 32767), -32768, 32767).astype(np.int16)
    return pcm


def dialogue(split: str, index: int) -> Dialogue:
    """Dialogue `index` of `split` (deterministic for a given espeak-ng)."""
    rng = np.random.default_rng([SPLITS[split], index, 0x5BEEC])
    voice, speed = str(rng.choice(VOICES)), int(rng.choice(SPEEDS))
    level = rng.uniform(0.25, 0.6)
    pieces: list[tuple[int, npt.NDArray[np.float64]]] = []  # (start ms, 16 kHz audio)
    moments: list[dict[str, int | str]] = []
    speech: list[list[int]] = []
    text: list[str] = []
    at = int(rng.integers(400, 1000))

    def say(sentence: str) -> int:
        nonlocal at
        audio = _resample(espeak(sentence, voice, speed), ESPEAK_RATE, RATE) * level
        pieces.append((at, audio))
        end = at + len(audio) * 1000 // RATE
        speech.append([at, end])
        text.append(sentence)
        at = end
        return end

    turns = int(rng.integers(2, 4))
    for k in range(turns):
        shape = rng.random()
        if k == 0:
            say(str(rng.choice(_OPENINGS)))
        elif shape < 0.4:
            first, second = _TRAILS[int(rng.integers(len(_TRAILS)))]
            end = say(first)
            at = end + int(rng.integers(500, 1001))
            moments.append({"kind": "pause", "start_ms": end, "end_ms": at})
            say(second)
        elif shape < 0.7:
            first, second = _CLAUSES[int(rng.integers(len(_CLAUSES)))]
            end = say(first)
            at = end + int(rng.integers(250, 451))
            moments.append({"kind": "backchannel", "start_ms": end, "end_ms": at})
            say(second)
        else:
            say(str(rng.choice(_SENTENCES)))
        end = at
        last = k == turns - 1
        if not last and rng.random() < 0.25:
            at = end + int(rng.integers(700, 1501))
            moments.append({"kind": "turn_end", "start_ms": end, "end_ms": at})
            onset = at
            said = say(str(rng.choice(_SENTENCES)))
            moments.append({"kind": "interruption", "start_ms": onset, "end_ms": said})
            end = at
        at = end + int(rng.integers(2200, 3001))
        moments.append({"kind": "turn_end", "start_ms": end, "end_ms": at})
    return Dialogue(f"{split}-{index:04d}", _mix(pieces, at, rng), moments, speech, voice, speed, text)


def write(dialogue_: Dialogue, folder: Path) -> Path:
    """`folder/NAME.wav` and `folder/NAME.json` (labels); the WAV's path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dialogue_.name}.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(dialogue_.audio.astype("<i2").tobytes())
    (folder / f"{dialogue_.name}.json").write_text(dialogue_.labels_json() + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.training.speech", description=__doc__)
    parser.add_argument("out", type=Path, help="corpus folder to write")
    parser.add_argument("--train", type=int, default=160, help="training dialogues (default 160)")
    parser.add_argument("--heldout", type=int, default=24, help="held-out dialogues (default 24)")
    args = parser.parse_args(argv)
    manifest: dict[str, list[dict[str, object]]] = {}
    for split, count in (("train", args.train), ("heldout", args.heldout)):
        manifest[split] = []
        for index in range(count):
            item = dialogue(split, index)
            write(item, args.out / split)
            manifest[split].append(
                {
                    "name": item.name,
                    "voice": item.voice,
                    "speed": item.speed,
                    "seconds": len(item.audio) / RATE,
                    "text": item.text,
                }
            )
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(json.dumps({split: len(items) for split, items in manifest.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())


ANSWER_TURNS = 4
"""tiny-v2 answers a turn end for this many turns (800 ms), the first saying b"yes."."""


def loud_turns(speech_ms: list[list[int]], turns: int, min_ms: int = 80) -> list[bool]:
    """Per turn: whether at least `min_ms` of synthesized caller speech falls inside it."""
    loud = []
    for k in range(turns):
        lo, hi = k * 200, k * 200 + 200
        inside = sum(max(0, min(hi, end) - max(lo, start)) for start, end in speech_ms)
        loud.append(inside >= min_ms)
    return loud


def turn_labels(moments: list[dict[str, int | str]], loud: list[bool]) -> list[tuple[int, bytes, str]]:
    """(action, target, reason) per turn, tiny-v2's rules for spoken dialogues: LISTEN while the
    caller speaks (so an interruption makes it yield); after a turn end SPEAK from the first quiet
    turn for `ANSWER_TURNS` turns; one BACKCHANNEL at a backchannel opportunity; LISTEN through
    mid-turn pauses and anything else. Action values are `Action` ints (LISTEN 0, SPEAK 1,
    BACKCHANNEL 2)."""
    out: list[tuple[int, bytes, str]] = []
    kind, quiet = "", 0
    for k, is_loud in enumerate(loud):
        if is_loud:
            out.append((0, b"", "loud"))
            kind, quiet = "", 0
            continue
        quiet += 1
        if quiet == 1:
            near = [m for m in moments if m["kind"] != "interruption" and abs(int(m["start_ms"]) - k * 200) <= 300]
            kind = str(min(near, key=lambda m: abs(int(m["start_ms"]) - k * 200))["kind"]) if near else ""
        if kind == "turn_end" and quiet <= ANSWER_TURNS:
            out.append((1, b"yes." if quiet == 1 else b"", "answer"))
        elif kind == "backchannel" and quiet == 1:
            out.append((2, b"mhm", "backchannel"))
        else:
            out.append((0, b"", "pause" if kind == "pause" else "idle"))
    return out


def load_or_make(folder: Path | None, split: str, index: int) -> Dialogue:
    """Dialogue `index` of `split`, read from `folder` if written there before, else generated (and
    written, when `folder` is given)."""
    name = f"{split}-{index:04d}"
    if folder is not None and (folder / split / f"{name}.json").exists():
        with wave.open(str(folder / split / f"{name}.wav")) as src:
            pcm = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2").copy()
        doc = json.loads((folder / split / f"{name}.json").read_text())
        return Dialogue(name, pcm, doc["moments"], doc["speech_ms"], "", 0, [])
    item = dialogue(split, index)
    if folder is not None:
        write(item, folder / split)
    return item


def dialogue_session(item: Dialogue) -> Session:
    """A dialogue as a labelled training/evaluation session (audio only, turns from 0)."""
    turns = -(-len(item.audio) // TURN_SAMPLES)
    pcm = np.zeros(turns * TURN_SAMPLES, dtype=np.int16)
    pcm[: len(item.audio)] = item.audio
    loud = loud_turns(item.speech_ms, turns)
    labels = turn_labels(item.moments, loud)
    key = f"speech-{item.name}"
    return Session(
        key,
        [
            LabeledTurn(
                TurnInput(key, k, pcm[k * TURN_SAMPLES : (k + 1) * TURN_SAMPLES].copy(), None),
                Action(action),
                target,
                reason,
                loud[k],
            )
            for k, (action, target, reason) in enumerate(labels)
        ],
    )


def speech_sessions(folder: Path | None, split: str, count: int) -> list[Session]:
    """The first `count` dialogues of `split` as sessions."""
    return [dialogue_session(load_or_make(folder, split, index)) for index in range(count)]
