"""HTML pages (Jinja2). The pages only render what the JSON API returns."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.settings import Settings

router = APIRouter(include_in_schema=False)


def _templates(request: Request) -> Jinja2Templates:
    settings: Settings = request.app.state.settings
    return Jinja2Templates(directory=settings.templates_dir)


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    return _templates(request).TemplateResponse(request, "index.html", {"page": "inspect"})


@router.get("/receptive-field", response_class=HTMLResponse)
def receptive_field(request: Request) -> HTMLResponse:
    return _templates(request).TemplateResponse(
        request, "receptive_field.html", {"page": "receptive-field"}
    )


@router.get("/conv-arithmetic", response_class=HTMLResponse)
def conv_arithmetic(request: Request) -> HTMLResponse:
    return _templates(request).TemplateResponse(
        request, "conv_arithmetic.html", {"page": "conv-arithmetic"}
    )


@router.get("/recurrent", response_class=HTMLResponse)
def recurrent(request: Request) -> HTMLResponse:
    return _templates(request).TemplateResponse(request, "recurrent.html", {"page": "recurrent"})


@router.get("/train", response_class=HTMLResponse)
def train(request: Request) -> HTMLResponse:
    return _templates(request).TemplateResponse(request, "train.html", {"page": "train"})
