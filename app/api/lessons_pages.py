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
    ("activations", "Activation functions and their slopes",
     "Sign, sigmoid, tanh and the ReLUs with their derivatives from the backward pass: where "
     "each saturates, and why inputs are scaled to [0, 1] or [-1, 1].",
     "lesson_activations.html"),
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


# The other pages on the learning path, each placed after the lesson slug it follows (None:
# before the first lesson): (after, href, title, one-line summary).
OTHER_PAGES = (
    (None, "/?tour=1", "A guided tour of a CNN, forward and backward",
     "On the inspect page, step by step on a real digit: the input, a convolution, ReLU, "
     "pooling, flatten, the fully connected layers, softmax, and the deltas going back."),
    ("conv-matrix", "/conv-arithmetic", "Convolution arithmetic",
     "Kernel, stride, padding and dilation: how each sets a convolution's output size, drawn "
     "cell by cell."),
    ("conv-matrix", "/receptive-field", "Receptive fields",
     "Which input pixels a unit of any layer sees, and how stacking layers and strides grows "
     "that field."),
    ("text-cnn", "/recurrent", "Recurrent networks",
     "An RNN and an LSTM read a digit row by row: the hidden state carried forward, and the "
     "gradient sent back through time."),
)


def learning_path() -> list[dict[str, str | int]]:
    """Every lesson and page in teaching order: {number, href, title, summary}."""
    path: list[tuple[str, str, str]] = [(h, t, d) for a, h, t, d in OTHER_PAGES if a is None]
    slugs = [slug for slug, *_ in LESSONS]
    for slug, title, summary, _ in LESSONS:
        path.append((f"/learn/{slug}", title, summary))
        path += [(h, t, d) for a, h, t, d in OTHER_PAGES if a == slug]
    path += [(h, t, d) for a, h, t, d in OTHER_PAGES if a is not None and a not in slugs]
    return [{"number": i, "href": h, "title": t, "summary": d}
            for i, (h, t, d) in enumerate(path, start=1)]


def _number(href: str) -> int:
    return next(item["number"] for item in learning_path() if item["href"] == href)


@router.get("/learn", response_class=HTMLResponse)
def learn(request: Request) -> HTMLResponse:
    return _templates(request).TemplateResponse(
        request, "learn.html", {"page": "learn", "lessons": learning_path()}
    )


def _lesson_route(slug: str, title: str, template: str):
    def lesson(request: Request) -> HTMLResponse:
        return _templates(request).TemplateResponse(
            request, template,
            {"page": "learn", "lesson": slug, "title": title, "number": _number(f"/learn/{slug}")},
        )

    lesson.__name__ = f"lesson_{slug.replace('-', '_')}"
    return lesson


for _slug, _title, _summary, _template in LESSONS:
    router.add_api_route(
        f"/learn/{_slug}", _lesson_route(_slug, _title, _template),
        response_class=HTMLResponse, methods=["GET"],
    )
