"""The async gRPC client the processors use to run one micro-turn of one session on Triton.

Requests are `inference.network.turns.TurnInput`, the one model-input type of the network, the
Triton adapter and this client (a torch-free import); it checks every field when it is built.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
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
    ModelFailed,
    SequenceLost,
    TimedOut,
    Unavailable,
)
from inference.models import MODEL as MODEL  # noqa: PLC0414  re-exported: defined without Triton's client
from inference.models import MODELS as MODELS  # noqa: PLC0414
from inference.models import SESSION_MODEL_KEY as SESSION_MODEL_KEY  # noqa: PLC0414
from inference.network.turns import TurnInput
from schemas.clock import TURN_SAMPLES


@dataclass(frozen=True)
class TurnResult:
    """The model's answer to one TurnInput."""

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


_BY_CODE: dict[str, type[InferenceError]] = {error.code: error for error in SERVER_ERRORS}  # type: ignore[attr-defined]
_CODE = re.compile(r"^([A-Z_]+): ")
_MISSING_START = "must specify the START flag"
"""Triton's sequence batcher refusing a step of a sequence it does not know (INVALID_ARGUMENT)."""


def _classify(exc: InferenceServerException) -> InferenceError:
    """The exception class of a failed request, from the gRPC status code and, for errors the
    model wrote, the code at the start of the message (`inference.errors.error_message`)."""
    message = exc.message() or str(exc)
    status = str(exc.status() or "").removeprefix("StatusCode.")
    if status == "UNAVAILABLE":
        return Unavailable(message)
    if status == "DEADLINE_EXCEEDED":
        return TimedOut(message)
    code = _CODE.match(message)
    if code is not None and code.group(1) in _BY_CODE:
        return _BY_CODE[code.group(1)](message)
    if status == "INVALID_ARGUMENT":
        # Triton's own checks: a sequence it has no slot for, or a tensor off the contract
        return SequenceLost(message) if _MISSING_START in message else BadRequest(message)
    return ModelFailed(message)  # INTERNAL without a model code (a crash in the model), or anything else


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

    async def step(self, session_id: str, request: TurnInput, start: bool, end: bool, model: str = MODEL) -> TurnResult:
        """Run `request` as the next step of `session_id`'s sequence on `model` (one of `MODELS`); the
        server keys the session by `correlation_id(session_id)` (`request.session_key` is not sent).

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
    def _inputs(request: TurnInput) -> list[grpcclient.InferInput]:
        """The request's tensors; absent audio/video, the presence flags and empty text are
        prebuilt once (about 50 -> 20 us per request here, `benchmarks/model_client.py`)."""
        audio, video = request.audio, request.video
        return [
            _NO_AUDIO if audio is None else _tensor("AUDIO", "INT16", audio.reshape(1, TURN_SAMPLES)),
            _PRESENT["AUDIO", audio is not None],
            _NO_VIDEO if video is None else _tensor("VIDEO", "UINT8", video[np.newaxis]),
            _PRESENT["VIDEO", video is not None],
            _EMPTY["TEXT"] if not request.text else _bytes("TEXT", request.text),
            _EMPTY["BACKGROUND"] if not request.background else _bytes("BACKGROUND", request.background),
            _tensor("TURN", "INT64", np.array([[request.turn]], dtype=np.int64)),
        ]


def _tensor(name: str, dtype: str, array: npt.NDArray[Any]) -> grpcclient.InferInput:
    tensor = grpcclient.InferInput(name, list(array.shape), dtype)
    tensor.set_data_from_numpy(array)
    return tensor


def _bytes(name: str, data: bytes) -> grpcclient.InferInput:
    return _tensor(name, "BYTES", np.array([[data]], dtype=np.object_))


# Inputs that are the same in many requests, built once; InferInput is only read when sent.
_NO_AUDIO = _tensor("AUDIO", "INT16", np.zeros((1, TURN_SAMPLES), dtype=np.int16))
_NO_VIDEO = _tensor("VIDEO", "UINT8", np.zeros((1, 1, 1, 3), dtype=np.uint8))
_PRESENT = {
    (kind, present): _tensor(f"{kind}_PRESENT", "BOOL", np.array([[present]]))
    for kind in ("AUDIO", "VIDEO")
    for present in (True, False)
}
_EMPTY = {name: _bytes(name, b"") for name in ("TEXT", "BACKGROUND")}
