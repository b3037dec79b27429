"""DTMF keys: held as runs and redacted whole, swallowed inside a sensitive window."""

from __future__ import annotations

from streams.redaction import RedactionSettings, Redactor
from streams.redaction.dtmf import DtmfGate
from streams.redaction.window import SensitiveWindow

CARD = "4111111111111111"


def gate(**settings: object) -> tuple[DtmfGate, SensitiveWindow]:
    chosen = RedactionSettings(**settings)  # type: ignore[arg-type]
    window = SensitiveWindow(chosen.window_ms)
    return DtmfGate(Redactor(chosen), window, chosen), window


def press(g: DtmfGate, keys: str, start_ms: int, step_ms: int = 100) -> list[str]:
    out = []
    for index, key in enumerate(keys):
        out += g.key(key, start_ms + index * step_ms)
    return out


def test_a_card_keyed_digit_by_digit_is_released_as_one_redacted_run() -> None:
    g, _ = gate()
    assert press(g, CARD, 0) == []  # held: no digit reaches the log on its own
    assert g.key("#", 1600) == ["[card]", "#"]
    assert g.counts["card"] == 1


def test_the_cvv_run_after_a_card_is_redacted_and_a_menu_choice_is_not() -> None:
    g, _ = gate()
    press(g, CARD + "#", 0)
    assert press(g, "737#", 2000) == ["[cvv]", "#"]
    assert press(g, "42#", 40_000) == ["42", "#"]  # long after the card: an ordinary entry


def test_a_run_is_released_after_the_hold_time_without_a_key() -> None:
    g, _ = gate(dtmf_hold_ms=3000)
    press(g, "5", 1000)
    assert g.tick(3999) == []
    assert g.tick(4000) == ["5"]
    g, _ = gate(dtmf_hold_ms=0)
    assert g.key("5", 0) == ["5"]


def test_keys_inside_a_window_never_come_out_as_digits() -> None:
    g, window = gate()
    out = press(g, "*" + CARD + "#", 0)
    assert out == ["[masked 16 keys]"] and not window.active(1800)
    assert g.counts["masked_keys"] == 16
    assert window.opened == 1


def test_a_window_closes_after_its_timeout_and_says_how_many_keys_it_swallowed() -> None:
    g, window = gate(window_ms=5000)
    press(g, "*123", 0)
    assert window.active(4999)
    assert g.tick(5000) == ["[masked 3 keys]"] and not window.active(5000)
    assert g.key("7", 6000) == [] and g.key("#", 6100) == ["7", "#"]


def test_digits_held_when_the_window_opens_are_released_first_and_the_rest_at_the_end() -> None:
    g, _ = gate(dtmf_window_key="A", dtmf_window_end_key="")
    assert press(g, "12A34", 0) == ["12"]
    assert g.key("#", 600) == []  # no end key configured: "#" is swallowed too
    assert g.finish(700) == ["[masked 3 keys]"]
