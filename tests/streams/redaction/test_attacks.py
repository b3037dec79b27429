"""Attacks on the redactor: spellings that slipped a card past it, and texts that made it stall."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from streams.redaction import Redactor, SessionRedaction
from streams.redaction.dtmf import DtmfGate
from streams.redaction.settings import RedactionSettings
from streams.redaction.window import SensitiveWindow

REDACTOR = Redactor()
CARD = "4111111111111111"
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
MATH_BOLD = str.maketrans("0123456789", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗")


def grouped(separator: str) -> str:
    return separator.join(CARD[i : i + 4] for i in range(0, 16, 4))


@pytest.mark.parametrize(
    "said",
    [
        grouped("."),
        grouped("/"),
        grouped("_"),
        grouped(","),
        grouped("  "),
        grouped(" - "),
        grouped("\t"),
        grouped("\n"),
        grouped("\u00a0"),  # no-break space
        grouped("\u200b"),  # zero-width space
        grouped("\u2013"),  # en dash
        CARD.translate(ARABIC_INDIC),
        CARD.translate(MATH_BOLD),
        grouped(" ").translate(ARABIC_INDIC),
        f"card{CARD}",
        f"{CARD}x",
    ],
)
def test_a_card_in_any_spelling_is_redacted(said: str) -> None:
    redacted = REDACTOR.redact(f"my card is {said} thanks")
    assert "[card]" in redacted.text and redacted.counts.get("card") == 1, redacted.text
    assert not re.search(r"\d", redacted.text), redacted.text


def gate() -> DtmfGate:
    settings = RedactionSettings()
    return DtmfGate(Redactor(settings), SensitiveWindow(settings.window_ms), settings)


def keyed(g: DtmfGate, keys: str, start_ms: int) -> tuple[list[str], int]:
    out: list[str] = []
    at = start_ms
    for key in keys:
        out += g.key(key, at)
        at += 200
    return out, at


def digits_in(texts: list[str]) -> str:
    return "".join(c for text in texts for c in text if c.isdigit())


@pytest.mark.parametrize("run", [CARD + "737", "1" + CARD, "1" + CARD + "737"])
def test_a_card_keyed_with_a_cvv_or_a_menu_digit_in_the_same_run_is_redacted(run: str) -> None:
    g = gate()
    out, at = keyed(g, run + "#", 0)
    out += g.finish(at)
    assert digits_in(out) == "" and g.counts["card"] == 1, out


def test_a_card_keyed_with_pauses_longer_than_the_hold_time_is_not_released_piece_by_piece() -> None:
    g = gate()
    out: list[str] = []
    at = 0
    for group in (CARD[:8], CARD[8:]):
        more, at = keyed(g, group, at)
        out += more
        at += 5_000  # a pause longer than the 3 s hold
        out += g.tick(at)
    out += g.finish(at)
    assert digits_in(out) == "" and g.counts["card"] == 1, out


def test_a_card_keyed_in_groups_of_four_with_pauses_leaks_no_more_than_its_first_group() -> None:
    g = gate()
    out: list[str] = []
    at = 0
    for start in range(0, 16, 4):
        more, at = keyed(g, CARD[start : start + 4], at)
        out += more
        at += 5_000
        out += g.tick(at)
    out += g.finish(at)
    assert len(digits_in(out)) <= 4 and g.counts["card"] == 1, out


def test_a_short_menu_choice_is_still_released_after_the_hold_time() -> None:
    g = gate()
    assert g.key("1", 0) == [] and g.tick(3_000) == ["1"]
    assert g.key("2", 10_000) == [] and g.tick(13_000) == ["2"]


def adversarial() -> Iterator[str]:
    n = 256 * 1024
    yield "1 " * (n // 2)
    yield "1-" * (n // 2)
    yield "4111 1111 " * (n // 10)
    yield CARD + " " + "737 " * (n // 4)
    yield "a" * n + "@"
    yield "a@" + "a." * (n // 2)
    yield "a@" + "-" * n
    yield "%" * n + "@a"
    yield "a@a" + "-a" * (n // 2)
    yield "a@b.io " * (n // 7)
    yield (CARD + " 737 ") * (n // 22)
    yield "1" * n


def test_adversarial_texts_do_not_stall_the_redactor() -> None:
    """Each 256 KiB text must be redacted well inside the watchdog (seconds, not minutes); the
    quadratic e-mail pattern and the cubic card-window search took minutes on these."""
    program = (
        "import sys\n"
        "from tests.streams.redaction.test_attacks import adversarial\n"
        "from streams.redaction import Redactor\n"
        "r = Redactor()\n"
        "for text in adversarial():\n"
        "    r.redact(text); r.raw(text.encode())\n"
        "print('done')\n"
    )
    try:
        done = subprocess.run([sys.executable, "-c", program], check=False, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the redactor stalled on adversarial text (watchdog of 60 s expired)")
    assert done.stdout.strip() == "done", done.stderr


def test_metadata_names_are_redacted_like_their_values() -> None:
    """Twilio custom parameters and ws start metadata are named by the caller: a card can be a name."""
    said = REDACTOR.mapping({f"param.{CARD}": "x", "param.4012888888881881": "y", "caller": "a@b.io"})
    assert said == {"param.[card]": "x", "param.[card]#2": "y", "caller": "[email]"}


def test_a_card_split_across_caller_texts_has_its_second_part_redacted() -> None:
    """Speech-to-text cuts a card read aloud into several events; the part that completes it is
    redacted (the first part was published before the card could be known)."""
    session = SessionRedaction(Redactor())
    assert session.text("my card is 4111 1111", 0) == "my card is 4111 1111"
    assert session.text("1111 1111 and cvv 737", 1_000) == "[card] and cvv [cvv]"
    assert session.counts["card"] == 1 and session.counts["cvv"] == 1
    assert session.text("then 42 and 7", 2_000) == "then 42 and 7"
    later = SessionRedaction(Redactor())
    later.text("room 4111 1111", 0)
    assert later.text("1111 1111", 40_000) == "1111 1111"  # long after: not one number


@pytest.mark.parametrize(
    "said",
    [
        "DE89.3704.0044.0532.0130.00",
        "DE89-3704-0044-0532-0130-00",
        "DE89\u00a03704\u00a00044\u00a00532\u00a00130\u00a000",
        "DE89\u200b3704\u200b0044\u200b0532\u200b0130\u200b00",
    ],
)
def test_an_iban_with_other_separators_is_redacted(said: str) -> None:
    assert REDACTOR.text(f"iban {said} please") == "iban [iban] please"


@pytest.mark.parametrize(
    "said", ["+44\u200b20\u200b7946\u200b0958", "+44\u00a020\u00a07946\u00a00958", "+44\u202f20 7946 0958"]
)
def test_a_phone_number_with_invisible_or_unusual_spaces_is_redacted(said: str) -> None:
    assert REDACTOR.text(f"call {said} now") == "call [phone] now"


def test_the_digest_changes_with_what_the_built_in_rules_find(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outputs recorded under rules that found less must not replay as if redacted alike."""
    from streams.redaction import settings

    now = RedactionSettings().digest
    monkeypatch.setattr(settings, "RULES_VERSION", settings.RULES_VERSION - 1)
    assert RedactionSettings().digest != now


@pytest.mark.parametrize("said", [grouped("."), grouped("/"), grouped("  "), grouped(" - ")])
def test_a_card_with_other_separators_is_redacted_in_raw_bytes(said: str) -> None:
    """A dead letter's value is bytes of unknown format: its preview must not keep the card either."""
    kept = REDACTOR.raw(b"\x81\xa4text\xb3" + said.encode() + b"\xff\x00")
    assert b"1111" not in kept and b"[card]" in kept, kept


def test_speaker_names_are_redacted() -> None:
    """`microturn stream` takes speaker names from the transcript file (meeting tools label by e-mail)."""
    session = SessionRedaction(Redactor())
    assert session.speaker("jane.doe@example.com") == "[email]"
    assert session.speaker("agent") == "agent"
    assert session.counts["email"] == 1
