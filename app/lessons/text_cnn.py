"""The text CNN lesson's service: one string through text-cnn, forward and backward.

For each filter: its response along the sequence (the ReLU of the convolution: what
max-over-time pooling reads), and the position that won the pooling, with the n-gram under
it. Then the fixed-length vector, the probabilities and the prediction, and the backward
pass: dL/d(embedding output) per character, the loss's sensitivity to each character.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.data.text import ALPHABET, MAX_LENGTH, TextRejected, bad_character
from app.models.text_cnn import WIDTHS, TextModel, load_text_model

MAX_TEXT_LENGTH = 64


def check_text(text: str) -> None:
    """TextRejected (naming the problem) unless text is 1..MAX_TEXT_LENGTH letters a-h."""
    if not text:
        raise TextRejected("the text is empty: type at least one letter")
    if len(text) > MAX_TEXT_LENGTH:
        raise TextRejected(f"the text has {len(text)} characters; at most {MAX_TEXT_LENGTH}")
    bad = bad_character(text)
    if bad is not None:
        i, ch = bad
        raise TextRejected(
            f"character {ch!r} at position {i} is not one of the letters {ALPHABET!r}", i, ch
        )


def _vector(values: np.ndarray) -> list[float]:
    return np.asarray(values, dtype=np.float64).reshape(-1).tolist()


def inspect_text(text: str, target: int | None = None, model: TextModel | None = None
                 ) -> dict[str, Any]:
    """The whole pass of one string; target is a class index (default: the prediction)."""
    check_text(text)
    model = model or load_text_model()
    x = model.encode([text])
    trace = model.network.trace(x, None if target is None else [target])
    layers = {t.name: t for t in trace.layers}
    length = x.shape[1]
    tokens = [text[i] if i < len(text) else None for i in range(length)]

    filters = []
    for k in WIDTHS:
        response = layers[f"relu{k}"].output[0]             # (filters, L - k + 1)
        winners = layers[f"pool{k}"].pool_indices[0, :, 0]  # (filters,)
        weight = layers[f"conv{k}"].params["weight"]
        for f in range(response.shape[0]):
            at = int(winners[f])
            filters.append({
                "width": k, "filter": f, "name": f"conv{k}[{f}]",
                "response": _vector(response[f]),
                "winner": {
                    "position": at, "end": at + k, "value": float(response[f, at]),
                    "ngram": text[at : at + k],
                    "padding": max(0, at + k - len(text)),
                },
                "weight_norm": float(np.linalg.norm(weight[f].astype(np.float64))),
            })

    emb_grad = layers["embedding"].grad_output[0].astype(np.float64)  # (L, dim)
    probabilities = trace.probabilities[0].astype(np.float64)
    return {
        "model": model.id,
        "text": text,
        "alphabet": ALPHABET,
        "classes": list(model.classes),
        "tokens": tokens,
        "padded_length": length,
        "widths": list(WIDTHS),
        "filters": filters,
        "vector": _vector(layers["flatten"].output[0]),
        "logits": _vector(trace.logits[0]),
        "probabilities": probabilities.tolist(),
        "prediction": int(trace.prediction[0]),
        "target": int(trace.target[0]),
        "loss": float(trace.loss),
        "embedding_grad": emb_grad.tolist(),
        "sensitivity": np.linalg.norm(emb_grad, axis=1).tolist(),
        "heldout_accuracy": model.card.get("heldout", {}).get("accuracy"),
        "training_length": MAX_LENGTH,
    }
