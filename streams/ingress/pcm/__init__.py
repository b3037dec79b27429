"""The PCM WebSocket ingress: 16 kHz s16le in, model outputs out (see `messages` for the protocol)."""

from streams.ingress.pcm.protocol import PcmProtocol

__all__ = ["PcmProtocol"]
