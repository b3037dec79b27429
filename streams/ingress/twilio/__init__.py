"""Twilio Media Streams ingress (bidirectional `<Connect><Stream>`) and a caller to test it with."""

from streams.ingress.twilio.client import caller_audio, place_call
from streams.ingress.twilio.protocol import TwilioProtocol
from streams.ingress.twilio.result import CallResult
from streams.ingress.twilio.signature import sign

__all__ = ["CallResult", "TwilioProtocol", "caller_audio", "place_call", "sign"]
