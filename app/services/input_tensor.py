"""An exact input tensor, as inspect accepts it: `{"shape": [1, C, H, W], "dtype": "float32",
"encoding": "base64", "data": "..."}`, the base64 of the little-endian float32 bytes in C
order (the responses' Tensor encoding). Checked in this order, each a 422 naming the problem:
the shape equals the model's input (batch of 1), the dtype and encoding, the base64 length
for that shape (before decoding), strict base64, finite values. Nothing is decoded before its
size is known to be the model's own."""

from __future__ import annotations

import binascii
from typing import Any

import numpy as np

from app.services.errors import ApiError

TENSOR_DTYPES = ("float32",)
TENSOR_ENCODINGS = ("base64",)


def _invalid(code: str, message: str, **details: Any) -> ApiError:
    return ApiError(422, code, message, field="tensor", **details)


def decode_input_tensor(tensor: dict[str, Any], input_shape: tuple[int, ...]) -> np.ndarray:
    """The request's tensor -> float32 array shaped (1, *input_shape). Raises ApiError 422."""
    expected = [1, *map(int, input_shape)]
    shape = tensor.get("shape")
    if shape != expected:
        raise _invalid("invalid_tensor_shape",
                       f"tensor.shape is {shape!r}; this model takes {expected}",
                       expected=expected)
    if tensor.get("dtype") not in TENSOR_DTYPES:
        raise _invalid("invalid_tensor", f"tensor.dtype must be {' or '.join(TENSOR_DTYPES)}")
    if tensor.get("encoding") not in TENSOR_ENCODINGS:
        raise _invalid("invalid_tensor", "tensor.encoding must be base64 (the little-endian "
                       "bytes in C order)")
    data = tensor.get("data")
    nbytes = 4 * int(np.prod(expected))
    wanted = 4 * ((nbytes + 2) // 3)
    if not isinstance(data, str) or len(data) != wanted:
        got = len(data) if isinstance(data, str) else type(data).__name__
        raise _invalid("invalid_tensor",
                       f"tensor.data must be {wanted:,} base64 characters ({nbytes:,} bytes "
                       f"of float32 for shape {expected}), got {got}")
    try:
        raw = binascii.a2b_base64(data.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise _invalid("invalid_tensor", "tensor.data is not valid base64") from None
    if len(raw) != nbytes:
        raise _invalid("invalid_tensor", f"tensor.data decodes to {len(raw):,} bytes, "
                       f"expected {nbytes:,}")
    array = np.frombuffer(raw, dtype="<f4").reshape(expected).astype(np.float32)
    bad = int(array.size - np.count_nonzero(np.isfinite(array)))
    if bad:
        raise _invalid("non_finite_tensor", f"tensor.data holds {bad:,} NaN or infinite "
                       "values; every value must be finite", count=bad)
    return array
