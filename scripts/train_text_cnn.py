"""Train the bundled text model `text-cnn` and write app/models/text-cnn.{npz,json}.

    python scripts/train_text_cnn.py               # the shipped recipe
    python scripts/train_text_cnn.py --out DIR     # write elsewhere
    python scripts/train_text_cnn.py --epochs 3    # a short run (the card records it)

The data are generated from a seed at load time (app/data/text.py); the recipe is
app.models.text_training.TEXT_RECIPE.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.models.text_cnn import MODELS_DIR  # noqa: E402
from app.models.text_training import save_text_cnn, train_text_cnn  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODELS_DIR)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    network, card = train_text_cnn(epochs=args.epochs)
    if args.epochs is not None:
        card["command"] += f" --epochs {args.epochs}"
    for entry in card["history"]:
        print(f"epoch {entry['epoch']:3d}  train loss {entry['train_loss']:.4f}  "
              f"held-out loss {entry['heldout_loss']:.4f}  acc {entry['heldout_accuracy']:.4f}")
    npz, js = save_text_cnn(network, card, args.out)
    held = card["heldout"]
    print(f"held-out accuracy {held['accuracy']:.4f} ({held['correct']}/{held['total']}), "
          f"loss {held['loss']:.4f}, {card['training_seconds']} s -> {npz}, {js}")


if __name__ == "__main__":
    main()
