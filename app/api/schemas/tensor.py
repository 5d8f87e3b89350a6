"""The Tensor schema: an n-d array whose `data` is base64 bytes or nested lists, chosen by
`encoding` (a oneOf with a discriminator, so generated clients get one class per form)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

Dtype = Literal["float32", "float64", "uint8", "int32"]

_SHAPE = Field(description="Dimensions, batch axis dropped, e.g. [C, H, W].")
_MIN = Field(description="Smallest value (0 for an empty tensor).")
_MAX = Field(description="Largest value (0 for an empty tensor).")


class TensorBase64(BaseModel):
    """`data` is the base64 of the array's little-endian bytes in C (row-major) order:
    decode it by `dtype` (float32 `<f4`, float64 `<f8`, int32 `<i4`, uint8 `u1`)."""

    shape: list[int] = _SHAPE
    dtype: Dtype
    encoding: Literal["base64"]
    data: str = Field(
        description="base64 of the little-endian bytes.",
        json_schema_extra={"contentEncoding": "base64"},
    )
    min: float = _MIN
    max: float = _MAX


class TensorList(BaseModel):
    """`data` is the array as nested lists of numbers (depth = len(shape))."""

    shape: list[int] = _SHAPE
    dtype: Dtype
    encoding: Literal["list"]
    data: list[Any] = Field(description="Nested lists of numbers, outermost axis first.")
    min: float = _MIN
    max: float = _MAX


class Tensor(RootModel[Annotated[TensorBase64 | TensorList, Field(discriminator="encoding")]]):
    """An n-d array, `{"shape", "dtype", "encoding", "data", "min", "max"}`. `encoding`
    "base64": `data` is the base64 of the little-endian bytes in C (row-major) order; "list":
    `data` is nested lists. Both carry the same numbers."""


class LayerParams(BaseModel):
    """A layer's parameters (or their gradients), PyTorch's names: `weight`, `bias`, and any
    other parameter a layer kind has, each a Tensor."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Tensor] = Field(init=False)

    weight: Tensor | None = Field(None, description="e.g. (C_out, C_in, kH, kW) for conv2d.")
    bias: Tensor | None = Field(None, description="(C_out,) or (out_features,).")
