"""Synthetic training sessions with the turn-taking behaviour the tiny model learns.

A session is a run of micro-turns (`TurnInput`s) with, for each turn, the action the model should
take and the bytes it should produce. Labels depend only on what the model has seen up to and
including that turn (the model is causal), by these rules, first match wins:

1. BACKGROUND input present            -> SPEAK   b"ok:"   (a tool result came back: take the floor)
2. TEXT input asks for a tool           -> DELEGATE with a task hint: b"calc", b"facts", b"faq",
                                           b"lookup" (`TOOL_HINTS`, requests from `tool_request`)
3. TEXT input, anything else (chat)     -> SPEAK   b"ok."
4. the caller's audio is loud this turn -> LISTEN  (the caller holds the floor)
5. silent turn after a loud run of >= 3 turns:
     first silent turn                  -> BACKCHANNEL b"mhm"  (a pause, or the caller yielding)
     second silent turn                 -> SPEAK b"yes."  (the caller stopped)
6. anything else (long silence, silence after a short run, no audio, no text) -> LISTEN

Rule 5 is the causal reading of "a short pause inside speech gets a backchannel, the end of speech
gets an answer": on the first quiet turn nobody can know yet whether the caller resumes, so the
model acknowledges (BACKCHANNEL); if the caller is still quiet one turn later (400 ms after the
stop) it answers. A caller who resumes gets LISTEN again (rule 4). The answer is one turn long:
the tiny model (2 layers) tells reliably only a few turns apart, so rules that look further back
(answering on the third silent turn too) were learned markedly worse.

A turn is loud when it holds at least 80 ms of a loud run (speech-like bursts, or tones, noise,
chirps: `synth.py`), at 800-16000 RMS over line noise of at most 400 RMS. The tiny model reads only
the first 16 bytes of TEXT (`max_text_bytes`) and 32 of BACKGROUND, so requests are told apart by
their first 16 bytes ("please calculate", "how long have I ", "what is your ref", "look up my order").

Sessions are drawn from `np.random.default_rng([seed, index])`: session `index` of seed `seed` is
the same in every process, and another seed gives other sessions (held-out evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from inference.network.config import TURN_SAMPLES, ModelConfig
from inference.network.turns import Action, TurnInput
from inference.training import synth

BACKGROUND_REPLY = b"ok:"
CHAT_REPLY = b"ok."
BACKCHANNEL_TEXT = b"mhm"
ANSWER_TEXT = b"yes."
"""What the model says on the second silent turn after the caller stopped."""
MIN_RUN = 3
"""Loud turns a run needs before its end is answered (rule 5)."""

_ITEMS = (
    "my order",
    "order 4412",
    "my invoice",
    "the weather",
    "flight LH 454",
    "my balance",
    "the address",
    "store hours",
    "my ticket",
    "account 99",
    "the tracking",
    "my plan",
    "a hotel",
    "the price of gold",
)
_FAQ = (
    "what is your refund policy?",
    "what is the refund policy",
    "refund policy?",
    "how do refunds work",
    "what are your opening hours",
    "when are you open?",
    "how do I reset my password",
    "do you ship abroad?",
    "can I cancel my order?",
    "how do returns work?",
    "what is the warranty?",
    "how much is shipping?",
    "where is my parcel?",
    "do you have a store near me",
    "what payment methods do you take",
)
_FACTS = (
    "how long have I been talking",
    "how long have I been talking?",
    "how long have we been on the call",
    "how long was that?",
    "how much time has passed",
    "how much time did that take",
    "elapsed time?",
    "what did I say at the start",
    "what did I say at the start?",
    "what did I say first?",
    "what did I say at the beginning",
    "what was the first thing I said",
)
_CHAT = (
    "hello",
    "hi there",
    "hi!",
    "good morning",
    "thanks",
    "thank you!",
    "yes please",
    "no, that's all",
    "ok",
    "sounds good",
    "I see",
    "my name is Ann",
    "my name is Raj",
    "I'm calling about a bill",
    "I have a question",
    "can you hear me?",
    "sorry, go on",
    "that's great",
    "bye",
    "perfect, thanks",
    "I'll wait",
    "one moment please",
    "sure",
    "not really",
    "hmm, let me think",
)
_FAQ_ANSWERS = (
    "Go to Settings > Security > Reset password; we email a link.",
    "Unused items can be returned within 30 days for a full refund.",
    "Standard shipping takes 3 to 5 business days.",
    "The support line is open Monday to Friday 8:00 to 20:00.",
    "Cancel any time under Account > Subscription.",
    "Most declines come from an expired card or a wrong address.",
    "Your order 4412 shipped on Monday.",
    "The balance is 231.50 EUR.",
)
_CALC_FORMS = (
    "calculate {e}",
    "Calculate {e}",
    "calculate {e} please",
    "compute {e}",
    "what is {e}?",
    "what is {e}",
    "what's {e}",
    "how much is {e}",
    "{e} = ?",
    "{e}=?",
    "can you calculate {e}",
    "please compute {e}",
    "please calculate {e} for me",
    "please calculate {e}",
    "could you calculate {e}",
    "quick, what's {e}?",
)
_LOOKUP_FORMS = (
    "look up {i}",
    "Look up {i}",
    "look up {i} please",
    "please look up {i}",
    "can you look up {i}",
    "search for {i}",
    "find {i}",
    "check {i}",
)

TOOL_HINTS = ("calc", "facts", "faq", "lookup")


def tool_request(kind: str, rng: np.random.Generator) -> bytes:
    """A typed request for tool `kind` (one of `TOOL_HINTS`), as UTF-8."""
    if kind == "calc":
        a, b = int(rng.integers(1, 100)), int(rng.integers(1, 100))
        op = str(rng.choice(["*", "+", "-", "/", " * ", " + ", " x "]))
        expr = f"{a}{op}{b}" if op != " x " else f"{a}*{b}"
        text = str(rng.choice(_CALC_FORMS)).format(e=expr)
    elif kind == "lookup":
        text = str(rng.choice(_LOOKUP_FORMS)).format(i=rng.choice(_ITEMS))
    elif kind == "faq":
        text = str(rng.choice(_FAQ))
    elif kind == "facts":
        text = str(rng.choice(_FACTS))
    else:
        raise ValueError(f"tool_request: expected one of {TOOL_HINTS}, got {kind!r}")
    return text.encode()


def chat_text(rng: np.random.Generator) -> bytes:
    return str(rng.choice(_CHAT)).encode()


def _expression(rng: np.random.Generator) -> str:
    a, b = int(rng.integers(1, 100)), int(rng.integers(1, 100))
    op = str(rng.choice(["*", "+", "-", "/"]))
    space = " " if rng.random() < 0.5 else ""
    return f"{a}{space}{op}{space}{b}"


def background_result(rng: np.random.Generator) -> bytes:
    """A result the background agent might send back (the shapes `processors/background/tools.py`
    produces: calculations, session facts, FAQ answers, errors), as UTF-8."""
    kind = int(rng.integers(0, 6))
    if kind == 0:
        expr = _expression(rng)
        text = f"{expr} = {int(rng.integers(-99, 9999))}"
    elif kind == 1:
        text = f"You have been talking for {int(rng.integers(0, 60))} min {int(rng.integers(0, 60))} s."
    elif kind == 2:
        said = tool_request(str(rng.choice(TOOL_HINTS)), rng) if rng.random() < 0.5 else chat_text(rng)
        text = f"At {rng.uniform(0, 90):.1f} s you said: {said.decode()}"
    elif kind == 3:
        answer = str(rng.choice(_FAQ_ANSWERS))
        text = f"{answer} (FAQ: {rng.choice(_FAQ)})" if rng.random() < 0.7 else answer
    elif kind == 4:
        text = str(
            rng.choice(
                [
                    f"no FAQ entry matches {tool_request('lookup', rng).decode()!r}",
                    f"cannot evaluate '{_expression(rng)}': division by zero",
                    "calculator did not answer within 10 s",
                    "faq_search did not answer within 10 s",
                    "session s-12 has no text yet",
                ]
            )
        )
    else:
        text = f"Found {rng.choice(_ITEMS)}: status ok, updated {int(rng.integers(1, 28))} May."
    return text.encode()


@dataclass(frozen=True)
class LabeledTurn:
    """One micro-turn's input and the output the model should produce for it."""

    input: TurnInput
    action: Action
    target: bytes
    """Spoken text (SPEAK, BACKCHANNEL), the task hint (DELEGATE), or b"" (LISTEN)."""
    reason: str
    """Which rule labelled it: "background", "tool", "chat", "loud", "pause", "answer", "idle"."""
    loud: bool = False
    """The caller's audio is loud this turn (what rules 4-6 read)."""


@dataclass(frozen=True)
class Session:
    key: str
    turns: list[LabeledTurn] = field(default_factory=list)

    @property
    def inputs(self) -> list[TurnInput]:
        return [t.input for t in self.turns]


def audio_labels(loud: list[bool]) -> list[tuple[Action, bytes, str]]:
    """Rules 4-6 over a session's per-turn loudness."""
    out: list[tuple[Action, bytes, str]] = []
    run, quiet = 0, 0
    for is_loud in loud:
        if is_loud:
            run = run + 1 if quiet == 0 else 1
            quiet = 0
            out.append((Action.LISTEN, b"", "loud"))
            continue
        quiet += 1
        if run >= MIN_RUN and quiet == 1:
            out.append((Action.BACKCHANNEL, BACKCHANNEL_TEXT, "pause"))
        elif run >= MIN_RUN and quiet == 2:
            out.append((Action.SPEAK, ANSWER_TEXT, "answer"))
        else:
            out.append((Action.LISTEN, b"", "idle"))
    return out


AUX_FEATURES = 9
"""Auxiliary training targets per turn (see `audio_history`)."""


def audio_history(loud: list[bool]) -> list[list[float]]:
    """Per turn: loud now and 1..4 turns ago; whether the latest loud run (up to now) was at least 2
    and at least `MIN_RUN` turns long; whether this is the 1st or 2nd quiet turn after it.
    Everything rules 4-6 read. Predicting it from the ACT token is an auxiliary task that speeds up
    training (its head is dropped afterwards, it is not part of the model)."""
    out: list[list[float]] = []
    run, quiet, last_run = 0, 0, 0
    for k, is_loud in enumerate(loud):
        if is_loud:
            run = run + 1 if quiet == 0 else 1
            quiet, last_run = 0, run
        else:
            quiet += 1
        past = [float(k - d >= 0 and loud[k - d]) for d in range(5)]
        counts = [float(last_run >= 2), float(last_run >= MIN_RUN)]
        out.append([*past, *counts, *(float(last_run > 0 and quiet == q) for q in (1, 2))])
    return out


def _loud_plan(rng: np.random.Generator, turns: int) -> list[tuple[int, int]]:
    """Loud runs as (first turn, last turn), alternating with gaps that are often one turn long."""
    runs: list[tuple[int, int]] = []
    k = int(rng.integers(0, 6))
    while k < turns:
        length = int(rng.choice([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 7, 8, 10, 12]))
        last = min(turns - 1, k + length - 1)
        runs.append((k, last))
        gap = int(rng.choice([1, 1, 1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 14]))
        k = last + 1 + gap
    return runs


def _voice_track(rng: np.random.Generator, turns: int) -> tuple[list[npt.NDArray[np.int16]], list[bool]]:
    """Audio chunks of a voice session and which turns are loud (>= 80 ms of the run inside)."""
    total = turns * TURN_SAMPLES
    wave = synth.noise_floor(rng, total)
    loud = [False] * turns
    for first, last in _loud_plan(rng, turns):
        start = first * TURN_SAMPLES + int(rng.integers(0, TURN_SAMPLES - 1280))
        stop = last * TURN_SAMPLES + int(rng.integers(1280, TURN_SAMPLES + 1))
        if stop - start < 1280:
            stop = start + 1280
        kind = str(rng.choice(synth.LOUD_KINDS))
        wave[start:stop] += synth.loud_run(kind, rng, stop - start)
        for k in range(first, last + 1):
            loud[k] = True
    return synth.turn_chunks(wave), loud


Typed = dict[int, tuple[bytes, Action, bytes, str]]
"""turn -> (typed text, action, target bytes, rule)."""


def _typed_events(rng: np.random.Generator, turns: int, voice: bool) -> tuple[Typed, dict[int, bytes]]:
    """Typed text and background results of a session, never two in one turn."""
    text: Typed = {}
    background: dict[int, bytes] = {}
    events = int(rng.integers(0, 4)) if voice else int(rng.integers(1, 6))
    for _ in range(events):
        k = int(rng.integers(0, turns))
        if k in text or k in background:
            continue
        if rng.random() < 0.72:
            kind = str(rng.choice(TOOL_HINTS))
            text[k] = (tool_request(kind, rng), Action.DELEGATE, kind.encode(), "tool")
            if rng.random() < 0.85:  # the agent answers a few turns later
                answer = k + int(rng.integers(1, 9))
                if answer < turns and answer not in text:
                    background[answer] = background_result(rng)
        else:
            text[k] = (chat_text(rng), Action.SPEAK, CHAT_REPLY, "chat")
    if rng.random() < 0.25:  # a result with no delegation seen in this session
        k = int(rng.integers(0, turns))
        if k not in text:
            background[k] = background_result(rng)
    return text, background


def generate_session(config: ModelConfig, seed: int, index: int) -> Session:
    """Session `index` of the stream drawn from `seed` (see the module docstring)."""
    rng = np.random.default_rng([seed, index])
    voice = rng.random() < 0.78
    # most sessions are short (cheap steps); some carry a long context, up to about the KV cache
    # window (sink_tokens + window_tokens: 170 audio-only turns in tiny), where eviction starts and
    # the context stops growing
    length = rng.random()
    turns = int(rng.integers(12, 29)) if voice else int(rng.integers(10, 25))
    if length < 0.06:
        turns = int(rng.integers(60, 181))
    elif length < 0.17:
        turns = int(rng.integers(40, 81))
    first_turn = 0 if rng.random() < 0.6 else int(rng.integers(1, 18_000))
    video = synth.VideoScene(rng, config.video_size) if rng.random() < 0.12 else None
    if video is not None:
        turns = min(turns, 40)  # a frame adds video_tokens per turn: keep the sequence short
    # a gap in turn indices after the first two turns stands for a long session whose middle the
    # KV cache evicted: the attention sinks (first tokens) lie far back in time (in long sessions,
    # behind a full window, as in a call that has run for minutes)
    gap = int(rng.integers(40, 20_000)) if rng.random() < (0.5 if turns >= 60 else 0.1) else 0
    if voice:
        chunks, loud = _voice_track(rng, turns)
        if gap:  # the turns before the gap are quiet, so no rule spans it
            quiet = synth.turn_chunks(synth.noise_floor(rng, 2 * TURN_SAMPLES))
            chunks[:2], loud[:2] = quiet, [False, False]
        base = audio_labels(loud)
    else:
        chunks, loud, base = [], [False] * turns, [(Action.LISTEN, b"", "idle")] * turns
    text, background = _typed_events(rng, turns, voice)
    key = f"train-{seed}-{index}"
    out: list[LabeledTurn] = []
    for k in range(turns):
        audio = chunks[k] if voice else None
        frame = video.frame() if video is not None else None
        action, target, reason = base[k]
        typed, result = b"", background.get(k, b"")
        if k in text:
            typed, action, target, reason = text[k]
        if result:
            action, target, reason = Action.SPEAK, BACKGROUND_REPLY, "background"
        item = TurnInput(key, first_turn + k + (gap if k >= 2 else 0), audio, frame, typed, result)
        out.append(LabeledTurn(item, action, target, reason, voice and loud[k]))
    return Session(key, out)


def generate_sessions(config: ModelConfig, seed: int, start: int, count: int) -> list[Session]:
    return [generate_session(config, seed, index) for index in range(start, start + count)]


def long_session(seed: int, index: int, turns: int) -> Session:
    """An audio-only session of `turns` turns (e.g. 600, two minutes: far past the KV window) for
    checking that turn-taking holds up after the cache starts evicting; labels by rules 4-6."""
    rng = np.random.default_rng([seed, index, turns])
    chunks, loud = _voice_track(rng, turns)
    key = f"long-{seed}-{index}"
    return Session(
        key,
        [
            LabeledTurn(TurnInput(key, k, chunks[k], None), action, target, reason, loud[k])
            for k, (action, target, reason) in enumerate(audio_labels(loud))
        ],
    )


def demo_session(config: ModelConfig, seed: int = 0) -> Session:
    """A fixed script that exercises every rule once, in order (tests and the evaluation report):
    speech, a one-turn pause, speech, the caller stops, a typed calculation, a background result,
    a typed FAQ question, speech, silence."""
    rng = np.random.default_rng([seed, 0x5EED])
    plan = "..LLLLL.LLLL.......LLLLLL...."  # '.' silent, 'L' loud
    turns = len(plan)
    wave = synth.noise_floor(rng, turns * TURN_SAMPLES)
    k = 0
    while k < turns:
        if plan[k] == "L":
            last = k
            while last + 1 < turns and plan[last + 1] == "L":
                last += 1
            start, stop = k * TURN_SAMPLES + 400, last * TURN_SAMPLES + 2400
            wave[start:stop] += synth.loud_run("speech", rng, stop - start)
            k = last + 1
        else:
            k += 1
    chunks, loud = synth.turn_chunks(wave), [c == "L" for c in plan]
    base = audio_labels(loud)
    typed = {
        15: (b"calculate 12*7", Action.DELEGATE, b"calc", "tool"),
        28: (b"what is your refund policy?", Action.DELEGATE, b"faq", "tool"),
    }
    results = {18: b"12*7 = 84"}
    key = f"demo-{seed}"
    out = []
    for k in range(turns):
        action, target, reason = base[k]
        text = b""
        if k in typed:
            text, action, target, reason = typed[k]
        if k in results:
            action, target, reason = Action.SPEAK, BACKGROUND_REPLY, "background"
        item = TurnInput(key, k, chunks[k], None, text, results.get(k, b""))
        out.append(LabeledTurn(item, action, target, reason, loud[k]))
    return Session(key, out)
