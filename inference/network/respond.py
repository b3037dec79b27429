"""What the model does once it has chosen the turn's action: decode bytes, synthesize speech.

The decode is short (at most `max_text_out` or `max_delegate_out` tokens) and runs against the
context through an `advance` callback: given one decode-token embedding, it returns that token's
final hidden state after attending to the turn's context and the decode tokens before it. The
streaming path implements `advance` with the KV cache, `recompute` by re-running the transformer
over the whole sequence, so both share this code.

Decode tokens are scratch: they are never kept in the context of later turns, which is therefore a
function of the recorded inputs alone (what the model said is on the output topic).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn

from inference.network.config import EOS, TURN_SAMPLES, ModelConfig
from inference.network.flow import FlowHead
from inference.network.heads import ByteHead, pick, sampling_noise
from inference.network.seeding import session_generator
from inference.network.tokens import TurnEmbedder
from inference.network.turns import Action, TurnInput, TurnOutput
from inference.network.vocoder import SineVocoder

Advance = Callable[[Tensor], Tensor]
"""[1, d_model] embedding of the next decode token -> its [d_model] final hidden state."""


def silence() -> npt.NDArray[np.int16]:
    """A fresh int16 [3200] block of zeros."""
    return np.zeros(TURN_SAMPLES, dtype=np.int16)


class Responder(nn.Module):
    """Byte heads, flow head and vocoder; turns (action, context) into a `TurnOutput`."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.text = ByteHead(config)
        self.delegate = ByteHead(config)
        self.flow = FlowHead(config)
        self.vocoder = SineVocoder(config)

    def respond(
        self, action: Action, item: TurnInput, time: Tensor, embedder: TurnEmbedder, advance: Advance
    ) -> TurnOutput:
        """The output of turn `item.turn` given its chosen action."""
        if action is Action.LISTEN:
            return TurnOutput(action=action, text=b"", audio=silence(), delegate=b"")
        first = advance(embedder.action_token(action, time))
        if action is Action.DELEGATE:
            task = self.decode(
                first, self.delegate, self.config.max_delegate_out, item, time=time, embedder=embedder, advance=advance
            )
            return TurnOutput(action=action, text=b"", audio=silence(), delegate=task)
        text = self.decode(
            first, self.text, self.config.max_text_out, item, time=time, embedder=embedder, advance=advance
        )
        return TurnOutput(action=action, text=text, audio=self.speech(first.unsqueeze(0), [item])[0], delegate=b"")

    def decode(
        self,
        hidden: Tensor,
        head: ByteHead,
        limit: int,
        item: TurnInput,
        *,
        time: Tensor,
        embedder: TurnEmbedder,
        advance: Advance,
    ) -> bytes:
        """Up to `limit` bytes, stopping at EOS; the last byte is not fed back (nothing reads it).

        The result is valid UTF-8 (TEXT_OUT and DELEGATE are UTF-8 by contract): bytes that do not
        form whole characters, e.g. a multi-byte character cut by `limit`, are dropped, so the
        recorded text round-trips bit for bit.
        """
        generator = session_generator(item.session_key, item.turn, "text")
        noise = sampling_noise(limit, self.config.text_temperature, generator)
        if noise is not None:
            noise = noise.to(hidden.device)
        out = bytearray()
        for position in range(1, limit + 1):
            value = pick(head.forward(hidden), None if noise is None else noise[position - 1])
            if value == EOS:
                break
            out.append(value)
            if position < limit:
                hidden = advance(embedder.output_byte(value, position, time))
        return valid_utf8(bytes(out))

    def noise(self, item: TurnInput) -> Tensor:
        """[out_frames, out_bands] standard normal noise of the turn's flow, drawn on the CPU."""
        generator = session_generator(item.session_key, item.turn, "audio")
        return torch.randn(self.config.out_frames, self.config.out_bands, generator=generator)

    def speech(self, cond: Tensor, items: Sequence[TurnInput]) -> list[npt.NDArray[np.int16]]:
        """int16 [3200] speech for each of `items`, conditioned on cond [B, d_model]."""
        noise = torch.stack([self.noise(item) for item in items]).to(cond.device)
        mel = self.flow(cond, noise)
        wave = self.vocoder(mel, [item.turn for item in items]).cpu().numpy()
        return list(wave)


def valid_utf8(data: bytes) -> bytes:
    """`data` without the bytes that do not form whole UTF-8 characters."""
    return data.decode("utf-8", "ignore").encode("utf-8")
