"""The app with a large graph registered: `uvicorn bench.big_graph_app:app`.

Serves everything the app serves plus `resnet18-digits` (bench.traces.digit_resnet18: ResNet-18's
layout, random weights, 70 nodes, 4,800+ channels, behind a stem that turns a 28x28 digit into
3x224x224). Registered models are not listed by GET /api/v1/models: a client names it. The page's
large-graph browser tests and bench/first_paint.py run it in their own uvicorn process.
"""

from __future__ import annotations

from app.main import create_app
from app.services.models import register_model
from bench.traces import digit_resnet18

register_model(digit_resnet18())
app = create_app()
