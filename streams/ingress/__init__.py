"""Live ingress: phone calls and browsers stream into sessions, model speech streams back.

`IngressServer(settings, protocol)` runs one WebSocket endpoint; the protocols are
`TwilioProtocol` (Twilio Media Streams, signed by Twilio) and `PcmProtocol` (16 kHz PCM with a
bearer token). Each call becomes one session on Kafka (audio chunks on the session clock, text,
start and end) and hears the model's outputs for it. `place_call` is a Twilio caller without a
phone, for demos, tests and benchmarks.
"""

from streams.ingress.errors import IngressError
from streams.ingress.pcm import PcmProtocol
from streams.ingress.server import IngressServer
from streams.ingress.settings import IngressSettings
from streams.ingress.twilio import CallResult, TwilioProtocol, place_call

__all__ = [
    "CallResult",
    "IngressError",
    "IngressServer",
    "IngressSettings",
    "PcmProtocol",
    "TwilioProtocol",
    "place_call",
]
