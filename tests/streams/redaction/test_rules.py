"""The redactor's rules: what each catches, what it must leave alone, and configured patterns."""

from __future__ import annotations

import pytest

from schemas.errors import ConfigError
from streams.redaction import RedactionSettings, Redactor
from streams.redaction.rules import iban_valid, luhn

REDACTOR = Redactor()


@pytest.mark.parametrize(
    "said",
    ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005", "6011 0009 9013 9424"],
)
def test_luhn_valid_card_numbers_are_redacted_in_every_spelling(said: str) -> None:
    redacted = REDACTOR.redact(f"my card is {said}, thanks")
    assert redacted.text == "my card is [card], thanks" and dict(redacted.counts) == {"card": 1}


@pytest.mark.parametrize("said", ["4111111111111112", "4111 1111 1111 1112", "1234 5678 9012 3456"])
def test_luhn_invalid_numbers_are_not_cards(said: str) -> None:
    assert "[card]" not in REDACTOR.text(f"order {said}")


def test_luhn_checksum() -> None:
    assert luhn("79927398713") and not luhn("79927398710")


def test_a_cvv_near_a_card_is_redacted_and_one_far_away_is_not() -> None:
    assert REDACTOR.text("4111 1111 1111 1111 cvv 737") == "[card] cvv [cvv]"
    assert REDACTOR.text("cvv 737 for 4111111111111111") == "cvv [cvv] for [card]"
    far = "4111111111111111" + " and then a long story about the weather today" * 2 + " room 737"
    assert REDACTOR.text(far).endswith("room 737")
    assert REDACTOR.text("room 737") == "room 737"
    assert REDACTOR.redact("737", near_card=True).text == "[cvv]"


@pytest.mark.parametrize(
    ("said", "valid"),
    [("DE89 3704 0044 0532 0130 00", True), ("GB82WEST12345698765432", True), ("DE89 3704 0044 0532 0130 01", False)],
)
def test_ibans_are_redacted_only_with_a_valid_mod97_check(said: str, valid: bool) -> None:
    assert iban_valid(said) is valid
    assert (REDACTOR.text(f"iban {said} please") == "iban [iban] please") is valid


def test_email_addresses() -> None:
    assert REDACTOR.text("write to jane.doe+x@mail.example.co.uk today") == "write to [email] today"
    assert REDACTOR.text("meet @ noon") == "meet @ noon"


@pytest.mark.parametrize(
    "said", ["+1 (555) 123-4567", "+15550001", "555-123-4567", "+44 20 7946 0958", "0049 30 1234567"]
)
def test_phone_numbers(said: str) -> None:
    assert REDACTOR.text(f"call {said} now") == "call [phone] now"


@pytest.mark.parametrize(
    "said", ["2026-12-01 10:30", "127.0.0.1:54321", "CA0123456789abcdef", "turn 42 at 1.2s", "12 * 7"]
)
def test_dates_addresses_ids_and_small_numbers_are_left_alone(said: str) -> None:
    assert REDACTOR.redact(said).text == said and not REDACTOR.redact(said).counts


def test_custom_patterns_and_switching_rules_off() -> None:
    redactor = Redactor(RedactionSettings(patterns={"ticket": r"TCK-\d{6}"}, rules=("email",)))
    assert (
        redactor.text("TCK-123456 from a@b.io card 4111111111111111") == "[ticket] from [email] card 4111111111111111"
    )
    assert Redactor(RedactionSettings(enabled=False)).text("a@b.io") == "a@b.io"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"MICROTURN_REDACT_PATTERNS": '{"ticket": "TCK-(\\\\d"}'}, "is not a regular expression"),
        ({"MICROTURN_REDACT_PATTERNS": '{"blank": "x*"}'}, "matches the empty string"),
        ({"MICROTURN_REDACT_PATTERNS": '{"card": "x"}'}, "differ from the built-ins"),
        ({"MICROTURN_REDACT_PATTERNS": "[1]"}, "must map names"),
        ({"MICROTURN_REDACT_RULES": "card,ssn"}, "unknown rule 'ssn'"),
        ({"MICROTURN_DTMF_WINDOW_KEY": "5"}, "MICROTURN_DTMF_WINDOW_KEY must be one of"),
        ({"MICROTURN_REDACT": "maybe"}, "MICROTURN_REDACT must be"),
        ({"MICROTURN_DTMF_HOLD_MS": "soon"}, "must be an integer"),
    ],
)
def test_bad_settings_are_a_config_error_naming_the_setting(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named) as raised:
        RedactionSettings.from_env(env)
    assert raised.value.exit_code == 2


def test_the_digest_names_the_text_rules() -> None:
    default = RedactionSettings()
    assert default.digest == RedactionSettings.from_env({}).digest != ""
    assert RedactionSettings(patterns={"ticket": "TCK"}).digest != default.digest
    assert RedactionSettings(dtmf_hold_ms=0).digest == default.digest  # windows do not change text redaction
    assert RedactionSettings(enabled=False).digest == ""


def test_raw_bytes_keep_everything_but_the_findings() -> None:
    data = b"\x81\xa4text\xb0" + b"4111111111111111" + b"\xff\x00"
    assert REDACTOR.raw(data) == b"\x81\xa4text\xb0[card]\xff\x00"


def test_a_card_behind_a_length_byte_that_is_a_digit_is_still_found_in_raw_bytes() -> None:
    data = b"\xd95" + b"4111111111111111" + b" tail"  # msgpack str8 of length 0x35: the length byte is "5"
    assert b"4111" not in REDACTOR.raw(data) and REDACTOR.raw(data).endswith(b"[card] tail")
