"""Bundled models: architecture specs, trained weights (.npz) and model cards (.json).

    from app.models import load_model, list_models
    model = load_model("lenet5")
    probs = model.predict(images)          # images (N, 28, 28), MNIST format -> (N, 10)

Normalisation lives here, in `Model.prepare`: callers pass MNIST-format digits (white ink on
black) as uint8 0-255 or floats 0-1, and the model scales them to [0, 1] (then applies its
input spec's per-channel mean and std, when it has them: app.imaging.spec).
"""

from app.models.registry import (
    ALL_ARCHITECTURES,
    ARCHITECTURES,
    COLOUR_ARCHITECTURES,
    MODELS_DIR,
    RECURRENT_ARCHITECTURES,
    Model,
    list_models,
    load_model,
)

__all__ = [
    "ALL_ARCHITECTURES", "ARCHITECTURES", "COLOUR_ARCHITECTURES", "MODELS_DIR",
    "RECURRENT_ARCHITECTURES", "Model", "list_models", "load_model",
]
