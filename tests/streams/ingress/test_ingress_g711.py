"""The G.711 mu-law codec against PyAV's (FFmpeg's pcm_mulaw), byte for byte."""

from __future__ import annotations

import av
import numpy as np
import numpy.typing as npt

from streams.ingress import g711


def pyav_encode(pcm: npt.NDArray[np.int16]) -> bytes:
    codec = av.CodecContext.create("pcm_mulaw", "w")
    codec.sample_rate, codec.format, codec.layout = 8000, "s16", "mono"
    codec.open()
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = 8000
    return b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)])


def pyav_decode(codes: bytes) -> npt.NDArray[np.int16]:
    codec = av.CodecContext.create("pcm_mulaw", "r")
    codec.sample_rate, codec.layout = 8000, "mono"
    return np.concatenate([f.to_ndarray().reshape(-1) for f in codec.decode(av.Packet(codes))])


def test_decoding_every_code_matches_pyav() -> None:
    codes = bytes(range(256))
    assert np.array_equal(g711.decode(codes), pyav_decode(codes))


def test_encoding_every_16_bit_value_matches_pyav() -> None:
    pcm = np.arange(-32768, 32768, dtype=np.int16)
    assert g711.encode(pcm) == pyav_encode(pcm)


def test_silence_is_code_ff_and_decoded_levels_survive_a_round_trip() -> None:
    assert g711.encode(np.zeros(3, np.int16)) == bytes([g711.SILENCE]) * 3
    levels = g711.decode(bytes(range(256)))
    assert np.array_equal(g711.decode(g711.encode(levels)), levels)
