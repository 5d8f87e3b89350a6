"""GET /api/v1/samples and GET /api/v1/samples/{id}.png: the galleries of held-out images.

`dataset` picks the gallery: `digits` (the default: the held-out part of
app.data.split_indices(), which no bundled model trained on) or `colour-shapes` (the colour
shapes' held-out split, for the RGB model). Ids run 0..N-1 and interleave the classes (id 0 is
the first held-out image of class 0, id 1 the first of class 1, ...), so any page of a gallery
shows every class.
"""

from __future__ import annotations

import io
from functools import cache
from typing import Literal

import numpy as np
from fastapi import APIRouter, Query
from fastapi.responses import Response
from PIL import Image

from app.api.schemas import PNG_RESPONSE, SampleList, error_responses
from app.imaging import png_data_url
from app.services.samples import (
    DEFAULT_DATASET,
    as_picture,
    gallery_indices,
    gallery_labels,
    sample_digit,
    sample_image,
)

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "gallery_indices", "router", "sample_digit"]

router = APIRouter(prefix="/api/v1", tags=["samples"])

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
DatasetName = Literal["digits", "colour-shapes"]
DATASET_QUERY = Query(
    DEFAULT_DATASET,
    description="Which gallery: `digits` (28x28 grayscale MNIST digits, white ink on black) or "
    "`colour-shapes` (20x20 RGB shapes, for the colour model).",
)


@cache
def _thumbnail(sample_id: int, dataset: str = DEFAULT_DATASET) -> str:
    return png_data_url(as_picture(sample_image(sample_id, dataset)[0]))


@router.get(
    "/samples",
    operation_id="list_samples",
    response_model=SampleList,
    summary="A gallery: held-out images (MNIST digits, or colour shapes) no model trained on",
    responses=error_responses(422),
)
def samples_index(
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size."),
    offset: int = Query(0, ge=0, description="Ids skipped before the page."),
    label: int | None = Query(None, ge=0, le=9, description="Only images of this class."),
    dataset: DatasetName = DATASET_QUERY,
) -> dict:
    labels = gallery_labels(dataset)
    ids = np.arange(labels.size)
    if label is not None:
        ids = ids[labels == label]
    page = ids[offset : offset + limit].tolist()
    return {
        "samples": [
            {"id": i, "label": int(labels[i]), "thumbnail": _thumbnail(i, dataset)}
            for i in page
        ],
        "total": int(ids.size),
        "limit": limit,
        "offset": offset,
    }


@router.get(
    "/samples/{sample_id}.png",
    operation_id="get_sample_image",
    response_class=Response,
    summary="One gallery image as a PNG: a 28x28 grayscale digit (white ink on black), or a "
    "20x20 RGB colour shape",
    responses={200: PNG_RESPONSE, **error_responses(404, 422)},
)
def sample_png(sample_id: int, dataset: DatasetName = DATASET_QUERY) -> Response:
    image, _ = sample_image(sample_id, dataset)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(as_picture(image))).save(buffer, format="PNG")
    return Response(
        buffer.getvalue(), media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )
