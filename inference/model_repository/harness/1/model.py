"""Triton python-backend adapter for the harness baseline (inference/harness.py).

Same contract as the `interaction` model: the same inputs, outputs and sequence controls, per-session
state in a SequenceRegistry keyed by the correlation id, errors per request with a leading code. VIDEO
is accepted and ignored; the harness never delegates (DELEGATE is always empty).
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils  # type: ignore[import-not-found]

from inference.errors import InferenceError
from inference.harness import Harness, HarnessSettings, HarnessState
from inference.loading import with_env
from inference.request_tensors import row, scalar
from inference.sequences import SequenceRegistry


class TritonPythonModel:
    """One instance: the harness and its sessions."""

    def initialize(self, args: dict[str, str]) -> None:
        config = json.loads(args["model_config"])
        params = with_env({k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()})
        self.harness = Harness(HarnessSettings.from_params(params))
        self.version = self.harness.version.encode()
        self.sessions: SequenceRegistry[HarnessState] = SequenceRegistry(
            int(params.get("max_sessions") or "256"), float(params.get("idle_evict_s") or "600")
        )

    def _answer(self, request: Any, now: float) -> Any:
        corrid = str(int(scalar(request, "CORRID")))
        turn = int(scalar(request, "TURN"))
        start = bool(scalar(request, "START"))
        end = bool(scalar(request, "END"))
        audio = row(request, "AUDIO") if bool(scalar(request, "AUDIO_PRESENT")) else None
        text = bytes(scalar(request, "TEXT"))
        background = bytes(scalar(request, "BACKGROUND"))
        state = self.sessions.begin(corrid, turn, start, self.harness.new_state, now)
        out = self.harness.step(state, turn, audio, text, background)
        self.sessions.commit(corrid, end, now)
        return pb_utils.InferenceResponse(
            output_tensors=[
                pb_utils.Tensor("ACTION", np.array([[int(out.action)]], dtype=np.int32)),
                pb_utils.Tensor("TEXT_OUT", np.array([[out.text]], dtype=np.object_)),
                pb_utils.Tensor("AUDIO_OUT", out.audio.reshape(1, -1)),
                pb_utils.Tensor("DELEGATE", np.array([[b""]], dtype=np.object_)),
                pb_utils.Tensor("MODEL_VERSION", np.array([[self.version]], dtype=np.object_)),
            ]
        )

    def execute(self, requests: list[Any]) -> list[Any]:
        now = time.monotonic()
        responses = []
        for request in requests:
            try:
                responses.append(self._answer(request, now))
            except InferenceError as exc:
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc))))
        return responses

    def finalize(self) -> None:
        self.sessions = SequenceRegistry(1, 1.0)
