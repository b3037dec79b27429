"""X-Twilio-Signature: Twilio's documented example, and the URL variants Twilio's validators accept."""

from __future__ import annotations

from streams.ingress.twilio.signature import is_valid, sign, url_variants

# The example of Twilio's "Webhooks security" page: token, URL, POST parameters and signature.
DOC_TOKEN = "12345"
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
DOC_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_the_documented_example_signs_and_validates() -> None:
    assert sign(DOC_TOKEN, DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    assert is_valid(DOC_TOKEN, DOC_URL, DOC_SIGNATURE, DOC_PARAMS)


def test_a_websocket_url_is_signed_alone_and_anything_else_fails() -> None:
    url = "wss://calls.example.com/media?tenant=7"
    good = sign("secret", url)
    assert is_valid("secret", url, good)
    assert not is_valid("other-token", url, good)
    assert not is_valid("secret", url.replace("7", "8"), good)
    assert not is_valid("secret", url, None)
    assert not is_valid("secret", url, "")
    assert not is_valid("", url, good)


def test_the_default_port_may_be_added_or_removed() -> None:
    assert url_variants("wss://h.example/p?q=1") == ["wss://h.example/p?q=1", "wss://h.example:443/p?q=1"]
    assert url_variants("wss://h.example:443/p") == ["wss://h.example:443/p", "wss://h.example/p"]
    assert url_variants("ws://127.0.0.1:8080/p") == ["ws://127.0.0.1:8080/p"]
    assert is_valid("secret", "wss://h.example:443/p", sign("secret", "wss://h.example/p"))
