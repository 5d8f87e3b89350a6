"""The lesson pages (Jinja2): /learn lists them in order; each page mounts one ES module."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.settings import Settings

router = APIRouter(include_in_schema=False)

# (path under /learn, title, one-line summary, template), in teaching order.
LESSONS = (
    ("perceptron", "The perceptron and XOR",
     "A single unit draws one straight line, so it never separates XOR; one hidden layer does.",
     "lesson_perceptron.html"),
    ("mlp-vs-cnn", "An MLP and a CNN",
     "A multilayer perceptron's layers as matrix-vector products, forward and backward; how "
     "many weights a fully connected layer needs; and what a 3-pixel shift does to each.",
     "lesson_mlp_vs_cnn.html"),
    ("fc-as-conv", "A fully connected layer is a convolution",
     "LeNet-5's fc1 is 120 kernels of 5x5x16; converted, the network slides over a larger "
     "canvas and returns a map of predictions.",
     "lesson_fc_as_conv.html"),
    ("conv-matrix", "A convolution is a matrix",
     "A small convolution written as its fully connected weight matrix: sparse, weight-shared, "
     "and its transpose is the gradient and the transposed convolution.",
     "lesson_conv_matrix.html"),
    ("autoencoder", "Transposed convolution in an autoencoder",
     "A small convolutional autoencoder squeezes a digit and rebuilds it with transposed "
     "convolutions: each input value scatters a scaled kernel, overlaps add, and a kernel "
     "not divisible by the stride paints a checkerboard; the reconstruction and its error.",
     "lesson_autoencoder.html"),
    ("equivariance", "Translation equivariance, measured",
     "Shift a digit: stride-1 convolutions move their maps with it exactly, strides make some "
     "shifts fractional, and pooling buys approximate invariance; LeNet-5 and the MLP across "
     "shifts.",
     "lesson_equivariance.html"),
    ("colour", "Channels in colour",
     "A kernel over an RGB image has a slice per channel: three 2-D correlations, added, plus "
     "the bias; and a small network that needs colour and shape.",
     "lesson_colour.html"),
    ("text-cnn", "A 1-D convolution reads text",
     "Filters of widths 2, 3 and 4 slide along a string; max-over-time pooling turns any length "
     "into 18 numbers, and the winning positions show which n-grams fired.",
     "lesson_text_cnn.html"),
)


def _templates(request: Request) -> Jinja2Templates:
    settings: Settings = request.app.state.settings
    return Jinja2Templates(directory=settings.templates_dir)


@router.get("/learn", response_class=HTMLResponse)
def learn(request: Request) -> HTMLResponse:
    lessons = [{"slug": s, "title": t, "summary": d} for s, t, d, _ in LESSONS]
    return _templates(request).TemplateResponse(
        request, "learn.html", {"page": "learn", "lessons": lessons}
    )


def _lesson_route(slug: str, title: str, template: str):
    def lesson(request: Request) -> HTMLResponse:
        return _templates(request).TemplateResponse(
            request, template, {"page": "learn", "lesson": slug, "title": title}
        )

    lesson.__name__ = f"lesson_{slug.replace('-', '_')}"
    return lesson


for _slug, _title, _summary, _template in LESSONS:
    router.add_api_route(
        f"/learn/{_slug}", _lesson_route(_slug, _title, _template),
        response_class=HTMLResponse, methods=["GET"],
    )
