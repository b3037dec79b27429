"""Reading one request's input tensors inside Triton's python backend.

Imported only by the model repository's `model.py` files (`triton_python_backend_utils` exists
only in the backend stub). A missing input is a `BadRequest` for that request alone.
"""

from __future__ import annotations

from typing import Any

import numpy.typing as npt
import triton_python_backend_utils as pb_utils  # type: ignore[import-not-found]

from inference.errors import BadRequest, error_message


def row(request: Any, name: str) -> npt.NDArray[Any]:
    """Input `name` of `request` without its batch dimension (each request is one session's turn)."""
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        raise BadRequest(error_message(BadRequest, f"input {name} is missing"))
    array: npt.NDArray[Any] = tensor.as_numpy()
    first: npt.NDArray[Any] = array[0]
    return first


def scalar(request: Any, name: str) -> Any:
    """The single value of input `name` (a flag, the turn, the correlation id, a string)."""
    return row(request, name).reshape(-1)[0]
