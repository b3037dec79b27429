"""Triton python-backend adapter for the interaction network.

Thin on purpose: parse the contract's tensors, keep per-session state in a SequenceRegistry keyed
by the sequence's correlation id, run one batched network step, answer each request. Errors are
per request and start with a code (SEQUENCE_LOST, OVERLOADED, OUT_OF_ORDER, BAD_REQUEST,
MODEL_FAILED) that the
client turns back into exception classes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils  # type: ignore[import-not-found]

from inference.errors import BadRequest, InferenceError, ModelFailed, error_message
from inference.loading import load_network, with_env
from inference.network import TurnInput
from inference.network.errors import InputError
from inference.request_tensors import row, scalar
from inference.sequences import SequenceRegistry


class TritonPythonModel:
    """One instance: the network, its sessions, and the request loop."""

    def initialize(self, args: dict[str, str]) -> None:
        config = json.loads(args["model_config"])
        params = with_env({k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()})
        self.net = load_network(params, Path(args["model_repository"]))
        import torch

        if args.get("model_instance_kind") == "GPU" and torch.cuda.is_available():
            self.net.to(f"cuda:{args['model_instance_device_id']}")
        self.net.eval()
        self.version = np.array([[self.net.version.encode()]], dtype=np.object_)
        self.sessions: SequenceRegistry[Any] = SequenceRegistry(
            int(params.get("max_sessions") or "256"), float(params.get("idle_evict_s") or "600")
        )

    def _parse(self, request: Any) -> tuple[str, bool, bool, TurnInput]:
        corrid = str(int(scalar(request, "CORRID")))  # the client derives it from the session id
        audio = row(request, "AUDIO") if bool(scalar(request, "AUDIO_PRESENT")) else None
        video = row(request, "VIDEO") if bool(scalar(request, "VIDEO_PRESENT")) else None
        try:  # any frame size up to MAX_FRAME_SIDE: the network resizes it (vision.fit_frame)
            turn_input = TurnInput(
                session_key=corrid,
                turn=int(scalar(request, "TURN")),
                audio=audio,
                video=video,
                text=bytes(scalar(request, "TEXT")),
                background=bytes(scalar(request, "BACKGROUND")),
            )
        except InputError as exc:
            raise BadRequest(error_message(BadRequest, str(exc))) from exc
        return corrid, bool(scalar(request, "START")), bool(scalar(request, "END")), turn_input

    def execute(self, requests: list[Any]) -> list[Any]:
        now = time.monotonic()
        responses: list[Any] = [None] * len(requests)
        batch: list[tuple[int, str, bool, TurnInput, Any]] = []
        for index, request in enumerate(requests):
            try:
                corrid, start, end, turn_input = self._parse(request)
                state = self.sessions.begin(corrid, turn_input.turn, start, self.net.new_state, now)
                batch.append((index, corrid, end, turn_input, state))
            except InferenceError as exc:
                responses[index] = pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc)))
        if batch:
            try:
                outputs = self.net.step([b[3] for b in batch], [b[4] for b in batch])
            except Exception as exc:  # noqa: BLE001 - reported per request, never crashes the server
                message = error_message(ModelFailed, f"model step failed: {type(exc).__name__}: {exc}")
                for index, *_ in batch:
                    responses[index] = pb_utils.InferenceResponse(error=pb_utils.TritonError(message))
                return responses
            for (index, corrid, end, _, _), out in zip(batch, outputs, strict=True):
                self.sessions.commit(corrid, end, now)
                responses[index] = pb_utils.InferenceResponse(
                    output_tensors=[
                        pb_utils.Tensor("ACTION", np.array([[int(out.action)]], dtype=np.int32)),
                        pb_utils.Tensor("TEXT_OUT", np.array([[out.text]], dtype=np.object_)),
                        pb_utils.Tensor("AUDIO_OUT", out.audio.reshape(1, -1)),  # int16 already
                        pb_utils.Tensor("DELEGATE", np.array([[out.delegate]], dtype=np.object_)),
                        pb_utils.Tensor("MODEL_VERSION", self.version),
                    ]
                )
        return responses

    def finalize(self) -> None:
        self.sessions = SequenceRegistry(1, 1.0)
