"""The async gRPC client the processors use to run one micro-turn of one session on Triton."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import tritonclient.grpc.aio as grpcclient  # type: ignore[import-untyped]
from tritonclient.utils import InferenceServerException  # type: ignore[import-untyped]

from inference.errors import (
    SERVER_ERRORS,
    BadRequest,
    InferenceError,
    SequenceLost,
    TimedOut,
    Unavailable,
)

MODEL = "interaction"
"""The model a session runs on unless its SessionStarted.metadata["model"] names another."""
MODELS = ("interaction", "harness")
"""The models of the repository a session may select (same Triton contract)."""
SESSION_MODEL_KEY = "model"
"""The SessionStarted.metadata key that selects a session's model (one of `MODELS`)."""
SAMPLES = 3200
_NO_AUDIO = np.zeros((1, SAMPLES), dtype=np.int16)
_NO_VIDEO = np.zeros((1, 1, 1, 3), dtype=np.uint8)


@dataclass(frozen=True)
class TurnRequest:
    """One session's input for one micro-turn."""

    turn: int
    """The turn index k; the server checks it is the session's next turn."""
    audio: npt.NDArray[np.int16] | None
    """int16 [3200], or None when the turn has no audio."""
    video: npt.NDArray[np.uint8] | None
    """uint8 [H, W, 3] at the model's input size, or None."""
    text: bytes = b""
    """UTF-8 text of the turn."""
    background: bytes = b""
    """UTF-8 background results delivered in the turn."""


@dataclass(frozen=True)
class TurnResult:
    """The model's answer to one TurnRequest."""

    action: int
    """Index into schemas.ACTIONS."""
    text: bytes
    """UTF-8 text out."""
    audio: npt.NDArray[np.int16]
    """int16 [3200] speech out."""
    delegate: bytes
    """UTF-8 task for the background agent (DELEGATE only)."""
    model_version: str
    """Name and weight digest of the model that answered."""
    model_ms: float
    """Round-trip time of the request, in milliseconds."""


def correlation_id(session_id: str) -> int:
    """The Triton sequence id of `session_id`: 63 bits of its blake2b digest, never 0."""
    digest = int.from_bytes(hashlib.blake2b(session_id.encode(), digest_size=8).digest(), "big")
    return (digest & 0x7FFF_FFFF_FFFF_FFFF) or 1


def _classify(exc: InferenceServerException) -> InferenceError:
    message = exc.message() or str(exc)
    for error in SERVER_ERRORS:
        if error.code in message:  # type: ignore[attr-defined]
            return error(message)
    if "must specify the START flag" in message or ("sequence" in message and "not found" in message):
        return SequenceLost(message)
    status = str(exc.status() or "")
    if "DEADLINE_EXCEEDED" in status or "Deadline" in message:
        return TimedOut(message)
    if "UNAVAILABLE" in status or "failed to connect" in message.lower():
        return Unavailable(message)
    return BadRequest(message)


class InteractionClient:
    """Runs micro-turns against the `interaction` model; one instance per worker process."""

    def __init__(self, url: str, timeout_s: float = 10.0, retries: int = 3, backoff_s: float = 0.05) -> None:
        if timeout_s <= 0 or retries < 0:
            raise ValueError(f"expected timeout_s > 0 and retries >= 0; got {timeout_s}, {retries}")
        self.url = url
        self._timeout_s = timeout_s
        self._retries = retries
        self._backoff_s = backoff_s
        self._client = grpcclient.InferenceServerClient(url)
        self._outputs = [
            grpcclient.InferRequestedOutput(name)
            for name in ("ACTION", "TEXT_OUT", "AUDIO_OUT", "DELEGATE", "MODEL_VERSION")
        ]

    async def close(self) -> None:
        await self._client.close()

    async def ready(self, model: str = MODEL) -> bool:
        """Whether the server and `model` are ready."""
        try:
            return bool(await self._client.is_server_ready() and await self._client.is_model_ready(model))
        except InferenceServerException:
            return False

    async def step(
        self, session_id: str, request: TurnRequest, start: bool, end: bool, model: str = MODEL
    ) -> TurnResult:
        """Run `request` as the next step of `session_id`'s sequence on `model` (one of `MODELS`).

        Retries only retriable errors (Unavailable, Overloaded) with exponential backoff; raises
        SequenceLost when the server has no state for the session, TimedOut when it may have run.
        """
        inputs = self._inputs(request)
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                result = await self._client.infer(
                    model,
                    inputs,
                    outputs=self._outputs,
                    sequence_id=correlation_id(session_id),
                    sequence_start=start,
                    sequence_end=end,
                    client_timeout=self._timeout_s,
                )
            except InferenceServerException as exc:
                error = _classify(exc)
                if not error.retriable or attempt >= self._retries:
                    raise error from exc
                attempt += 1
                await asyncio.sleep(self._backoff_s * 2**attempt)
                continue
            elapsed_ms = (time.perf_counter() - started) * 1000
            return TurnResult(
                action=int(result.as_numpy("ACTION").reshape(-1)[0]),
                text=bytes(result.as_numpy("TEXT_OUT").reshape(-1)[0]),
                audio=result.as_numpy("AUDIO_OUT").reshape(-1),
                delegate=bytes(result.as_numpy("DELEGATE").reshape(-1)[0]),
                model_version=bytes(result.as_numpy("MODEL_VERSION").reshape(-1)[0]).decode(),
                model_ms=elapsed_ms,
            )

    @staticmethod
    def _inputs(request: TurnRequest) -> list[grpcclient.InferInput]:
        audio = _NO_AUDIO if request.audio is None else request.audio.reshape(1, SAMPLES)
        video = _NO_VIDEO if request.video is None else request.video[np.newaxis]
        tensors: list[tuple[str, str, npt.NDArray[Any]]] = [
            ("AUDIO", "INT16", audio),
            ("AUDIO_PRESENT", "BOOL", np.array([[request.audio is not None]])),
            ("VIDEO", "UINT8", video),
            ("VIDEO_PRESENT", "BOOL", np.array([[request.video is not None]])),
            ("TEXT", "BYTES", np.array([[request.text]], dtype=np.object_)),
            ("BACKGROUND", "BYTES", np.array([[request.background]], dtype=np.object_)),
            ("TURN", "INT64", np.array([[request.turn]], dtype=np.int64)),
        ]
        inputs = []
        for name, dtype, array in tensors:
            tensor = grpcclient.InferInput(name, list(array.shape), dtype)
            tensor.set_data_from_numpy(array)
            inputs.append(tensor)
        return inputs
