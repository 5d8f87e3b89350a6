"""GET /api/v1/samples and GET /api/v1/samples/{id}.png: the gallery of held-out digits.

The gallery holds only the digits of app.data.split_indices()'s held-out part, which no
bundled model trained on. Ids run 0..N-1 and interleave the classes (id 0 is the first held-out
0, id 1 the first held-out 1, ...), so any page of the gallery shows every class.
"""

from __future__ import annotations

import io
from functools import cache

import numpy as np
from fastapi import APIRouter, Query
from fastapi.responses import Response
from PIL import Image

from app.api.schemas import PNG_RESPONSE, SampleList, error_responses
from app.data import load_digits
from app.imaging import png_data_url
from app.services.samples import gallery_indices, sample_digit

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "gallery_indices", "router", "sample_digit"]

router = APIRouter(prefix="/api/v1", tags=["samples"])

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


@cache
def _thumbnail(sample_id: int) -> str:
    return png_data_url(sample_digit(sample_id)[0])


@router.get(
    "/samples",
    operation_id="list_samples",
    response_model=SampleList,
    summary="The gallery: held-out MNIST digits no model trained on",
    responses=error_responses(422),
)
def samples_index(
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size."),
    offset: int = Query(0, ge=0, description="Ids skipped before the page."),
    label: int | None = Query(None, ge=0, le=9, description="Only digits of this class."),
) -> dict:
    _, labels = load_digits()
    gallery_labels = labels[gallery_indices()]
    ids = np.arange(gallery_labels.size)
    if label is not None:
        ids = ids[gallery_labels == label]
    page = ids[offset : offset + limit].tolist()
    return {
        "samples": [
            {"id": i, "label": int(gallery_labels[i]), "thumbnail": _thumbnail(i)} for i in page
        ],
        "total": int(ids.size),
        "limit": limit,
        "offset": offset,
    }


@router.get(
    "/samples/{sample_id}.png",
    operation_id="get_sample_image",
    response_class=Response,
    summary="One gallery digit as a 28x28 grayscale PNG (white ink on black)",
    responses={200: PNG_RESPONSE, **error_responses(404, 422)},
)
def sample_png(sample_id: int) -> Response:
    digit, _ = sample_digit(sample_id)
    buffer = io.BytesIO()
    Image.fromarray(digit, mode="L").save(buffer, format="PNG")
    return Response(
        buffer.getvalue(), media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )
