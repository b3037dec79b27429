"""G.711 mu-law, the telephone codec of Twilio Media Streams: 8-bit codes <-> 16-bit linear PCM.

Both directions are table lookups built once at import, so a 20 ms frame costs one numpy `take`.
Decoding follows ITU-T G.711 (bias 0x84, codes bit-inverted); encoding picks the nearest level,
as FFmpeg's `pcm_mulaw` does, so `tests/streams/ingress/test_ingress_g711.py` can check both
directions against PyAV byte for byte.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SILENCE = 0xFF
"""The mu-law code of linear 0 (what a silent frame is filled with)."""

_BIAS = 0x84


def _decode_table() -> npt.NDArray[np.int16]:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(codes & 0x80, -magnitude, magnitude).astype(np.int16)


def _encode_table() -> npt.NDArray[np.uint8]:
    """Codes of the 14-bit linear values (int16 >> 2), each the code whose level is nearest.

    Decision thresholds lie halfway between neighbouring decoded levels, as in FFmpeg's
    `pcm_mulaw` encoder (the G.711 reference truncates instead; both decode identically).
    """
    table = np.empty(16384, dtype=np.uint8)
    centre = 8192
    table[centre] = 0xFF
    j = 1
    for level in range(127):
        low, high = int(_DECODE[level ^ 0xFF]), int(_DECODE[(level + 1) ^ 0xFF])
        threshold = (low + high + 4) >> 3  # the 14-bit midpoint of the two levels, rounded
        if threshold > j:
            table[centre - threshold + 1 : centre - j + 1] = level ^ 0x7F
            table[centre + j : centre + threshold] = level ^ 0xFF
            j = threshold
    table[1 : centre - j + 1] = 127 ^ 0x7F
    table[centre + j :] = 127 ^ 0xFF
    table[0] = table[1]
    return table


_DECODE = _decode_table()
_ENCODE = _encode_table()


def decode(codes: bytes) -> npt.NDArray[np.int16]:
    """Linear int16 samples of mu-law `codes` (one sample per byte)."""
    return _DECODE[np.frombuffer(codes, dtype=np.uint8)]


def encode(samples: npt.NDArray[np.int16]) -> bytes:
    """Mu-law codes of a 1-D int16 array (one byte per sample)."""
    index = (samples.astype(np.int32) + 32768) >> 2
    return bytes(_ENCODE[index].tobytes())
