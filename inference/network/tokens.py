"""Early fusion: one micro-turn's inputs as one short run of tokens in the shared stream.

Layout of turn k (absent modalities add no tokens):

    [audio x audio_tokens] [video x video_tokens] [text bytes] [background bytes] [ACT]

Every token is content + slot + time: the slot embedding marks the token's place in the layout
(which doubles as its modality), the time embedding (`clock.py`) the turn's start time. There is no
rotary or absolute sequence position: order across turns comes from the time embedding, order
within a turn from the slot. A cached key therefore never depends on where it sits in the cache,
which is what lets the KV cache evict tokens (attention sinks + sliding window) without touching
the keys it keeps. The final ACT token is where the action is read out; its content is a learned
query plus the mean of the turn's other tokens, so the decision sees the newest 200 ms directly
however long the context is (attention alone spreads thin over hundreds of cached tokens).

Decode tokens (`action_token`, `output_byte`) use the slots after the layout: the chosen action at
output position 0, then each emitted byte at positions 1, 2, ...
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from inference.network.clock import ElapsedTimeEmbedding
from inference.network.config import ModelConfig
from inference.network.dmel import DMelEncoder
from inference.network.turns import Action, TurnInput
from inference.network.vision import HMLPStem, fit_frame


class TurnEmbedder(nn.Module):
    """Turns `TurnInput`s and decode tokens into [n, d_model] embeddings."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.dmel = DMelEncoder(config)
        self.vision = HMLPStem(config)
        self.clock = ElapsedTimeEmbedding(config)
        self.bytes = nn.Embedding(256, d)
        self.actions = nn.Embedding(len(Action), d)
        self.act_query = nn.Parameter(torch.empty(1, d))
        starts = np.cumsum(
            [
                0,
                config.audio_tokens,
                config.video_tokens,
                config.max_text_bytes,
                config.max_background_bytes,
                1,
                config.max_decode_tokens,
            ]
        )
        self._audio, self._video, self._text, self._background, self._act, self._out, n_slots = map(int, starts)
        self.slots = nn.Embedding(n_slots, d)

    @property
    def device(self) -> torch.device:
        return self.act_query.device

    def time(self, turn: int) -> Tensor:
        """[1, d_model] time vector of turn `turn`; computed once per turn and passed to the rest."""
        return self.clock.forward(turn)

    def turn_tokens(self, item: TurnInput, time: Tensor) -> Tensor:
        """[n, d_model] tokens of one turn, in layout order, ACT last."""
        cfg, slots = self.config, self.slots.weight
        parts: list[Tensor] = []
        if item.audio is not None:
            audio = torch.tensor(item.audio, device=self.device).unsqueeze(0)
            parts.append(self.dmel.forward(audio)[0] + slots[self._audio : self._audio + cfg.audio_tokens])
        if item.video is not None:
            video = torch.tensor(fit_frame(item.video, cfg.video_size), device=self.device).unsqueeze(0)
            parts.append(self.vision.forward(video)[0] + slots[self._video : self._video + cfg.video_tokens])
        for data, limit, start in (
            (item.text, cfg.max_text_bytes, self._text),
            (item.background, cfg.max_background_bytes, self._background),
        ):
            if data:
                ids = self.byte_ids(data[:limit])
                parts.append(self.bytes(ids) + slots[start : start + ids.shape[0]])
        act = self.act_query + slots[self._act : self._act + 1]
        if parts:
            inputs = torch.cat(parts)
            return torch.cat([inputs, act + inputs.mean(0, keepdim=True)]) + time
        return act + time

    def token_count(self, item: TurnInput) -> int:
        """Number of tokens `turn_tokens(item, ...)` returns, without computing them."""
        cfg = self.config
        audio = cfg.audio_tokens if item.audio is not None else 0
        video = cfg.video_tokens if item.video is not None else 0
        text = min(len(item.text), cfg.max_text_bytes) + min(len(item.background), cfg.max_background_bytes)
        return audio + video + text + 1

    def byte_ids(self, data: bytes) -> Tensor:
        """long [len(data)] byte values on the model's device."""
        return torch.from_numpy(np.frombuffer(data, dtype=np.uint8).astype(np.int64)).to(self.device)

    def action_token(self, action: Action, time: Tensor) -> Tensor:
        """[1, d_model] first decode token: the action the model just chose."""
        row = self.actions.weight[int(action) : int(action) + 1]
        return row + self.slots.weight[self._out : self._out + 1] + time

    def output_byte(self, value: int, position: int, time: Tensor) -> Tensor:
        """[1, d_model] decode token for emitted byte `value` at output position `position` >= 1."""
        slot = self._out + position
        return self.bytes.weight[value : value + 1] + self.slots.weight[slot : slot + 1] + time
