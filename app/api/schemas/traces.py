"""Bodies of /api/v1/traces/{trace_id}/layers/{layer_name}[/fetch]: one layer of a trace."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas.inspect import Encoding, LayerPart
from app.api.schemas.tensor import LayerParams, Tensor

# A token is base64 of the compressed input: 8 MiB covers a 3x1024x1024 float32 input.
MAX_TOKEN_CHARS = 8 * 1024 * 1024


class TraceLayerRequest(BaseModel):
    """Body of POST /api/v1/traces/{trace_id}/layers/{layer_name}/fetch."""

    model_config = ConfigDict(extra="forbid")

    input: str = Field(
        min_length=1, max_length=MAX_TOKEN_CHARS,
        description="The inspect response's `trace_input` (the trace's recipe).",
    )


class TraceLayerResponse(BaseModel):
    trace_id: str
    model: str
    index: int
    name: str
    kind: str
    output_shape: list[int] = Field(description="The whole output's shape, batch axis dropped.")
    channel_count: int = Field(description="Channels (first axis) of the output.")
    part: list[LayerPart] = Field(description="The parts asked for, in canonical order.")
    channels: list[int] | None = Field(
        description="[first, last] (inclusive) of the channel slice sent; null: every channel."
    )
    encoding: Encoding
    output: Tensor | None = Field(None, description="The activation (part `output`).")
    grad_output: Tensor | None = Field(
        None, description="The layer's delta dL/d output (part `grad_output`)."
    )
    pool_indices: Tensor | None = Field(None, description="maxpool2d only (part `pool_indices`).")
    pool_mask: Tensor | None = Field(None, description="maxpool2d only (part `pool_mask`).")
    params: LayerParams | None = Field(None, description="Whole, whatever `channels` says.")
    buffers: dict[str, Tensor] | None = Field(
        None, description="BatchNorm's `running_mean` and `running_var`, sent with `params`."
    )
    param_grads: LayerParams | None = Field(None, description="Whole, whatever `channels` says.")
    recomputed: bool = Field(
        description="True when the trace was not held by this server and was computed again "
        "from its recipe."
    )
