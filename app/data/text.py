"""The text CNN lesson's data: strings over a small alphabet, labelled by which motif they hold.

Every string is random noise over the letters a-h with, for classes 1-3, one motif planted at
a random position: "hg" (2 letters), "bad" (3) or "cafe" (4); class 0 ("none") holds none of
them. The noise may hold near-misses ("ba", "caf", "fe"), so a model must find the whole
motif, wherever it is. A string holds at most one motif, once: strings where the noise
formed a motif (or a second copy) are drawn again.

Generated at load time from a seed (`make_text_dataset`), in about 0.1 s, with numpy's PCG64
Generator (`integers` and `permutation` only): the same seed gives the same strings on any
machine. NumPy does not promise a Generator's streams across its versions, so the model card
and tests/data/test_text.py pin a digest of the default sets: a change would show there.

Encoding: index 0 is padding (`PAD`), letters are 1..8 in alphabet order; a batch of
variable-length strings is padded on the right with PAD to one length.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

ALPHABET = "abcdefgh"
PAD = 0
VOCAB_SIZE = len(ALPHABET) + 1
CLASSES = ("none", "hg", "bad", "cafe")
MOTIFS = CLASSES[1:]
MIN_LENGTH, MAX_LENGTH = 8, 24
DATA_SEED = 0
TRAIN_SIZE, HELDOUT_SIZE = 4000, 1000

_INDEX = {ch: i + 1 for i, ch in enumerate(ALPHABET)}


class TextRejected(ValueError):
    """A string the model cannot read; `position` and `character` name the first bad one."""

    def __init__(self, message: str, position: int | None = None, character: str | None = None):
        super().__init__(message)
        self.position, self.character = position, character


def bad_character(text: str) -> tuple[int, str] | None:
    """(position, character) of the first character outside ALPHABET, or None."""
    for i, ch in enumerate(text):
        if ch not in _INDEX:
            return i, ch
    return None


def encode(text: str) -> np.ndarray:
    """A string over ALPHABET -> int64 indices (len,), letters 1..8. TextRejected otherwise."""
    bad = bad_character(text)
    if bad is not None:
        i, ch = bad
        raise TextRejected(
            f"character {ch!r} at position {i} is not in the alphabet {ALPHABET!r}", i, ch
        )
    return np.array([_INDEX[ch] for ch in text], dtype=np.int64)


def decode(indices: np.ndarray) -> str:
    """Indices -> string, padding dropped."""
    return "".join(ALPHABET[i - 1] for i in np.asarray(indices).tolist() if i != PAD)


def pad_batch(rows: list[np.ndarray], length: int | None = None) -> np.ndarray:
    """Index rows -> (N, length) int64, padded on the right with PAD (length: the longest)."""
    length = max(len(r) for r in rows) if length is None else length
    out = np.full((len(rows), length), PAD, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def motif_counts(text: str) -> list[int]:
    """How often each motif occurs in text (overlaps counted)."""
    return [sum(text.startswith(m, i) for i in range(len(text))) for m in MOTIFS]


def _draw(rng: np.random.Generator, label: int) -> str:
    while True:
        length = int(rng.integers(MIN_LENGTH, MAX_LENGTH + 1))
        letters = rng.integers(0, len(ALPHABET), size=length)
        text = "".join(ALPHABET[i] for i in letters)
        if label:
            motif = MOTIFS[label - 1]
            at = int(rng.integers(0, length - len(motif) + 1))
            text = text[:at] + motif + text[at + len(motif):]
        wanted = [int(label == k + 1) for k in range(len(MOTIFS))]
        if motif_counts(text) == wanted:
            return text


@dataclass(frozen=True)
class TextDataset:
    texts: list[str]
    labels: np.ndarray  # (N,) int64, index into CLASSES

    def encoded(self, length: int = MAX_LENGTH) -> np.ndarray:
        """(N, length) int64 indices, right-padded with PAD."""
        return pad_batch([encode(t) for t in self.texts], length)

    def digest(self) -> str:
        """sha256 of the strings and labels: a fingerprint of the generator's output."""
        blob = "\n".join(f"{t}\t{c}" for t, c in zip(self.texts, self.labels.tolist(), strict=True))
        return hashlib.sha256(blob.encode()).hexdigest()


def make_text_dataset(n: int, seed: int) -> TextDataset:
    """n strings, classes balanced in a seeded random order."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)
    return TextDataset([_draw(rng, int(c)) for c in labels], labels)


def text_splits(seed: int = DATA_SEED) -> tuple[TextDataset, TextDataset]:
    """The lesson's (train, held-out) sets: TRAIN_SIZE and HELDOUT_SIZE strings drawn from
    one seeded stream (train first), so the two never share a draw."""
    full = make_text_dataset(TRAIN_SIZE + HELDOUT_SIZE, seed)
    cut = TRAIN_SIZE
    return (TextDataset(full.texts[:cut], full.labels[:cut]),
            TextDataset(full.texts[cut:], full.labels[cut:]))
