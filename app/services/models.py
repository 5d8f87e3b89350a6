"""Models by id: registered in this process, bundled, or stored (app.services.model_store:
uploaded ONNX files and trained networks); a 404 envelope when unknown. Receptive fields."""

from __future__ import annotations

from app.models import Model, list_models, load_model
from app.models.registry import weights_path
from app.nn.receptive import network_receptive_fields
from app.nn.receptive_graph import graph_receptive_fields
from app.services.errors import ApiError
from app.services.model_store import is_model_id, model_store

# Models registered at run time (the bench's and the tests' graphs): inspected and traced
# like bundled ones, not listed by GET /api/v1/models.
_REGISTERED: dict[str, Model] = {}


def register_model(model: Model) -> None:
    """Serve `model` under its id in this process (not bundled: nothing is written)."""
    _REGISTERED[model.id] = model


def unregister_model(model_id: str) -> None:
    _REGISTERED.pop(model_id, None)


def get_model(model_id: str) -> Model:
    """The registered, bundled or stored model, or a 404 envelope naming the bundled ones."""
    if model_id in _REGISTERED:
        return _REGISTERED[model_id]
    if is_model_id(model_id):
        stored = model_store().get(model_id)
        if stored is not None:
            return stored
    known = available_models()
    if model_id not in known:
        raise ApiError(
            404, "model_not_found",
            f"unknown model {model_id!r}; available: {', '.join(known) or 'none'}",
            model=model_id, available=known,
        )
    return load_model(model_id)


def available_models() -> list[str]:
    """Registered models whose trained weights are bundled."""
    return [m for m in list_models() if weights_path(m).exists()]


def receptive_fields(model: Model) -> list[dict | None]:
    """Per layer {"size", "jump", "start", "padding"} ([h, w] lists) on the model's input;
    a graph's fields follow each node's own inputs (None where no single field exists).
    A model whose input is not an image (C, H, W) has none."""
    if len(model.input_shape) != 3:
        return [None] * len(model.network)
    if model.network.is_chain:
        return network_receptive_fields(model.network, model.input_shape[1:])
    return graph_receptive_fields(model.network, model.input_shape[1:])


def store_onnx(data: bytes, *, name: str | None = None, classes: list[str] | None = None,
               input_spec: dict | None = None) -> tuple[dict, bool]:
    """Import and store an uploaded ONNX file -> (its card, True when this call stored it;
    False when the same bytes were already stored: the stored card is returned unchanged).
    Raises ApiError (413, 422)."""
    import hashlib

    store = model_store()
    existed = store.card(hashlib.sha256(data).hexdigest()[:16]) is not None
    card = store.put_onnx(data, name=name, classes=classes, input_spec=input_spec)
    return card, not existed


def stored_summary(card: dict) -> dict:
    """A stored model's entry in GET /api/v1/models, read from its card (nothing loaded)."""
    return {
        "id": card["id"], "name": card["name"], "description": card.get("description", ""),
        "input_shape": list(card["input"]["shape"][1:]), "classes": list(card["classes"]),
        "parameters": int(card["parameters"]), "accuracy": None, "source": card["source"],
    }


def delete_stored(model_id: str) -> None:
    """Delete an uploaded or trained model. 403 for a bundled or in-process model, 404 for an
    unknown id."""
    if model_id in _REGISTERED or model_id in available_models():
        raise ApiError(403, "model_not_deletable",
                       f"{model_id!r} ships with ConvScope; only uploaded and trained models "
                       "can be deleted", model=model_id)
    if not (is_model_id(model_id) and model_store().delete(model_id)):
        get_model(model_id)  # the 404 envelope
        raise ApiError(404, "model_not_found", f"unknown model {model_id!r}", model=model_id)
