"""The model store: uploaded ONNX files and trained networks, on disk, content-addressed.

    from app.services.model_store import model_store
    store = model_store()                       # process-wide, from Settings (model_dir, caps)
    card = store.put_onnx(data, name=None, classes=None, input_spec=None)
    card = store.put_network(graph, name=..., classes=[...], input_shape=(C, H, W), extra=None)
    store.get(model_id) -> Model | None;  store.cards() -> [card];  store.delete(model_id)

- **Ids** are the first 16 hex digits of a sha256: of the uploaded bytes (ONNX), or of the
  canonical spec JSON and parameters (trained networks); the card carries the full `sha256`.
  The same content gives the same id, and storing it again returns the stored card unchanged
  (`card["created"]` tells which upload made it). Ids are checked against `^[0-9a-f]{16}$`
  before any path is built, so nothing outside the store's directory is ever read.
- **Layout**: `<model_dir>/<id>/` holds `card.json` and either `model.onnx` (re-imported on
  load) or `spec.json` + `params.npz`, plus `used` whose modification time is the last use.
  A model is written into a fresh temporary directory and renamed into place: readers never
  see half a model, and two processes storing the same content race harmlessly (the second
  rename fails and the first copy is kept). Deleting renames the directory away first.
- **Caps** (Settings): the file size (`max_model_bytes`, 413), parameters and ONNX nodes
  (`max_model_parameters`, `max_model_nodes`: the importer's 422 `model_too_large`).
- **Eviction**: after a put, while the store holds more than `model_store_bytes`, the least
  recently used models (by `used`'s mtime, on disk, so replicas sharing the volume agree) are
  deleted; the model just stored is kept.
- **Memory**: loaded models are cached (LRU) up to `model_cache_bytes` of parameters.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.importers.errors import ModelImportError
from app.importers.onnx import import_onnx
from app.models.registry import Architecture, Model
from app.nn import Graph, dump_params, from_spec, load_params, to_spec
from app.services import model_card
from app.services.errors import ApiError
from app.settings import Settings

MODEL_ID_PATTERN = r"^[0-9a-f]{16}$"
_MODEL_ID = re.compile(MODEL_ID_PATTERN)
CARD, ONNX, SPEC, PARAMS, USED = "card.json", "model.onnx", "spec.json", "params.npz", "used"
# A model's last use is written at most this often (seconds): reads stay cheap.
USE_RESOLUTION = 30.0
MAX_NAME_CHARS = 200


def is_model_id(model_id: object) -> bool:
    """True for a well-formed store id (16 lowercase hex digits)."""
    return isinstance(model_id, str) and _MODEL_ID.fullmatch(model_id) is not None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _check_name(name: str | None, default: str) -> str:
    if name is None:
        return default
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME_CHARS:
        raise ApiError(422, "invalid_name", f"name must have 1 to {MAX_NAME_CHARS} characters",
                       field="name")
    return name.strip()


def network_digest(network: Graph) -> tuple[str, bytes, dict[str, np.ndarray]]:
    """(sha256 hex, canonical spec JSON bytes, params) of a network: the spec as sorted
    compact JSON, then every parameter and buffer (sorted by key: name, dtype, shape,
    little-endian bytes)."""
    spec = json.dumps({"spec": to_spec(network), "output": network.output},
                      sort_keys=True, separators=(",", ":")).encode()
    params = dump_params(network)
    h = hashlib.sha256(spec)
    for key in sorted(params):
        value = np.ascontiguousarray(params[key])
        value = value.astype(value.dtype.newbyteorder("<"), copy=False)
        h.update(f"\n{key}:{value.dtype.str}:{value.shape}\n".encode())
        h.update(value.tobytes())
    return h.hexdigest(), spec, params


class ModelStore:
    """Stored models under `root` (see the module docstring). Thread-safe; processes sharing
    the directory stay consistent through atomic renames."""

    def __init__(self, root: Path, *, max_bytes: int = 100 * 1024 * 1024,
                 max_parameters: int = 30_000_000, max_nodes: int = 500,
                 budget_bytes: int = 2 * 1024 ** 3, cache_bytes: int = 512 * 1024 ** 2,
                 clock=time.time):
        self.root = Path(root)
        self.max_bytes, self.max_parameters, self.max_nodes = max_bytes, max_parameters, max_nodes
        self.budget_bytes, self.cache_bytes = budget_bytes, cache_bytes
        self.clock = clock
        self._lock = threading.RLock()
        self._cache: OrderedDict[str, tuple[Model, int]] = OrderedDict()
        self._cached_bytes = 0
        self._touched: dict[str, float] = {}
        self._loading: dict[str, threading.Lock] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelStore:
        return cls(settings.model_dir, max_bytes=settings.max_model_bytes,
                   max_parameters=settings.max_model_parameters,
                   max_nodes=settings.max_model_nodes,
                   budget_bytes=settings.model_store_bytes,
                   cache_bytes=settings.model_cache_bytes)

    # -- paths -----------------------------------------------------------------------------
    def _dir(self, model_id: str) -> Path:
        if not is_model_id(model_id):
            raise ValueError(f"not a model id: {model_id!r}")
        return self.root / model_id

    def _ids(self) -> list[str]:
        try:
            return sorted(p.name for p in self.root.iterdir()
                          if is_model_id(p.name) and (p / CARD).is_file())
        except FileNotFoundError:
            return []

    # -- writing ---------------------------------------------------------------------------
    def _commit(self, model_id: str, files: dict[str, bytes], card: dict[str, Any]) -> dict:
        """Write files + card into a temporary directory and rename it into place; the
        stored card (this one, or the one a concurrent writer put first)."""
        target = self._dir(model_id)
        if (target / CARD).is_file():
            return self._existing(model_id)
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp.mkdir()
            for name, data in {**files, CARD: json.dumps(card, indent=1).encode()}.items():
                with open(tmp / name, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            (tmp / USED).touch()
            now = self.clock()
            os.utime(tmp / USED, (now, now))
            try:
                os.rename(tmp, target)
            except OSError:
                if (target / CARD).is_file():  # someone stored the same content first
                    return self._existing(model_id)
                raise
        except OSError as exc:  # an unwritable directory, a full disk
            raise ApiError(503, "model_store_unavailable",
                           f"the model store cannot be written ({exc.strerror or exc}); "
                           "CONVSCOPE_MODEL_DIR must name a writable directory with room")\
                from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._evict(keep=model_id)
        return card

    def _existing(self, model_id: str) -> dict:
        self._touch(model_id, force=True)
        return self.card(model_id)

    def put_onnx(self, data: bytes, *, name: str | None = None, classes: list[str] | None = None,
                 input_spec: dict | None = None) -> dict:
        """Import and store an ONNX file -> its card. Raises ApiError: 413 over the size
        cap, 422 with the importer's code (unsupported_operator, external_data,
        model_too_large, invalid_model) or for bad name/classes/input spec."""
        if len(data) > self.max_bytes:
            raise ApiError(413, "model_too_large",
                           f"the file has {len(data):,} bytes; at most {self.max_bytes:,} "
                           "are accepted", what="bytes", count=len(data), limit=self.max_bytes)
        digest = hashlib.sha256(data).hexdigest()
        model_id = digest[:16]
        if (self._dir(model_id) / CARD).is_file():
            return self._existing(model_id)
        network, onnx_card = self._import(data)
        input_shape = tuple(onnx_card["input"]["shape"][1:])
        count = model_card.output_classes(network, input_shape)
        card = {
            "id": model_id, "sha256": digest, "source": "onnx",
            "name": _check_name(name, f"ONNX model {model_id[:8]}"),
            "created": _now(), "bytes": len(data),
            "classes": model_card.check_classes(classes, count),
            "input": model_card.input_spec(input_spec, input_shape),
            **model_card.summary(network, input_shape),
            "onnx": {k: onnx_card[k] for k in ("opset", "ir_version", "producer", "head",
                                                "op_counts", "onnx_nodes")},
        }
        card["onnx"]["input_name"] = onnx_card["input"]["name"]
        stored = self._commit(model_id, {ONNX: bytes(data)}, card)
        if stored is card:  # this call stored it: keep the imported network loaded
            self._remember(model_id, self._model(model_id, card, network))
        return stored

    def _import(self, data: bytes) -> tuple[Graph, dict]:
        try:
            return import_onnx(bytes(data), max_nodes=self.max_nodes,
                               max_parameters=self.max_parameters)
        except ModelImportError as exc:
            raise ApiError(422, exc.code, str(exc), **exc.details()) from None

    def put_network(self, network: Graph, *, name: str, classes: list[str],
                    input_shape: tuple[int, int, int], extra: dict | None = None) -> dict:
        """Store a network built in this process (a trained one) -> its card. `extra` is
        merged into the card (e.g. {"training_run": {...}})."""
        input_shape = tuple(int(d) for d in input_shape)
        digest, spec, params = network_digest(network)
        model_id = digest[:16]
        if (self._dir(model_id) / CARD).is_file():
            return self._existing(model_id)
        count = model_card.output_classes(network, input_shape)
        buffer = io.BytesIO()
        np.savez(buffer, **params)
        card = {
            **(extra or {}),
            "id": model_id, "sha256": digest, "source": "training",
            "name": _check_name(name, f"trained model {model_id[:8]}"),
            "created": _now(), "bytes": len(spec) + buffer.tell(),
            "classes": model_card.check_classes(list(classes), count),
            "input": model_card.input_spec(None, input_shape),
            **model_card.summary(network, input_shape),
        }
        return self._commit(model_id, {SPEC: spec, PARAMS: buffer.getvalue()}, card)

    # -- reading ---------------------------------------------------------------------------
    def card(self, model_id: str) -> dict | None:
        """The stored card, or None (malformed id, unknown, or being deleted)."""
        if not is_model_id(model_id):
            return None
        try:
            return json.loads((self._dir(model_id) / CARD).read_text())
        except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
            return None

    def cards(self) -> list[dict]:
        """Every stored card, oldest first."""
        cards = [c for c in map(self.card, self._ids()) if c is not None]
        return sorted(cards, key=lambda c: (c.get("created", ""), c["id"]))

    def _cached(self, model_id: str) -> Model | None:
        with self._lock:
            hit = self._cache.get(model_id)
            if hit is not None:
                self._cache.move_to_end(model_id)
        if hit is not None and (self._dir(model_id) / CARD).is_file():
            self._touch(model_id)
            return hit[0]
        return None

    def get(self, model_id: str) -> Model | None:
        """The stored model, loaded (cached in memory), or None. Concurrent first requests
        for one model load it once."""
        if not is_model_id(model_id):
            return None
        model = self._cached(model_id)
        if model is not None:
            return model
        with self._lock:
            loading = self._loading.setdefault(model_id, threading.Lock())
        with loading:
            model = self._cached(model_id)  # loaded by the thread we waited for
            if model is not None:
                return model
            card = self.card(model_id)
            if card is None:
                self._forget(model_id)
                return None
            try:
                model = self._load(model_id, card)
            except FileNotFoundError:  # deleted meanwhile
                return None
            self._touch(model_id)
            self._remember(model_id, model)
        with self._lock:
            self._loading.pop(model_id, None)
        return model

    def _load(self, model_id: str, card: dict) -> Model:
        folder = self._dir(model_id)
        if card["source"] == "onnx":
            network, _ = import_onnx((folder / ONNX).read_bytes(), max_nodes=self.max_nodes,
                                     max_parameters=self.max_parameters)
        else:
            saved = json.loads((folder / SPEC).read_text())
            network = from_spec(saved["spec"], rng=0)
            with np.load(folder / PARAMS) as arrays:
                load_params(network, dict(arrays))
            network.eval()
        return self._model(model_id, card, network)

    @staticmethod
    def _model(model_id: str, card: dict, network: Graph) -> Model:
        input_shape = tuple(card["input"]["shape"][1:])
        arch = Architecture(model_id, card["name"], card.get("description", ""),
                            to_spec(network), input_shape, tuple(card["classes"]))
        return Model(arch, network, card)

    def _remember(self, model_id: str, model: Model) -> None:
        size = 4 * model.network.parameter_count
        with self._lock:
            self._forget(model_id)
            self._cache[model_id] = (model, size)
            self._cached_bytes += size
            while self._cached_bytes > self.cache_bytes and len(self._cache) > 1:
                _, (_, old) = self._cache.popitem(last=False)
                self._cached_bytes -= old

    def _forget(self, model_id: str) -> None:
        with self._lock:
            old = self._cache.pop(model_id, None)
            if old is not None:
                self._cached_bytes -= old[1]

    # -- use, eviction, deletion -----------------------------------------------------------
    def _touch(self, model_id: str, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self._touched.get(model_id, -1e18) < USE_RESOLUTION:
            return
        self._touched[model_id] = now
        try:
            os.utime(self._dir(model_id) / USED, (now, now))
        except FileNotFoundError:
            pass

    def last_used(self, model_id: str) -> float:
        try:
            return (self._dir(model_id) / USED).stat().st_mtime
        except FileNotFoundError:
            return 0.0

    def nbytes(self, model_id: str | None = None) -> int:
        """Bytes on disk of one model, or of the whole store."""
        ids = self._ids() if model_id is None else [model_id]
        total = 0
        for mid in ids:
            try:
                total += sum(p.stat().st_size for p in self._dir(mid).iterdir())
            except FileNotFoundError:
                pass
        return total

    def _evict(self, keep: str) -> list[str]:
        """Delete the least recently used models (never `keep`) until the store fits its
        byte budget -> the evicted ids."""
        sizes = {mid: self.nbytes(mid) for mid in self._ids()}
        total, evicted = sum(sizes.values()), []
        for mid in sorted(sizes, key=lambda m: (self.last_used(m), m)):
            if total <= self.budget_bytes:
                break
            if mid != keep and self.delete(mid):
                total -= sizes[mid]
                evicted.append(mid)
        return evicted

    def delete(self, model_id: str) -> bool:
        """Remove a stored model -> True when it was there."""
        if not is_model_id(model_id):
            return False
        self._forget(model_id)
        self._touched.pop(model_id, None)
        trash = self.root / f".trash-{uuid.uuid4().hex}"
        try:
            os.rename(self._dir(model_id), trash)
        except (FileNotFoundError, NotADirectoryError):
            return False
        shutil.rmtree(trash, ignore_errors=True)
        return True


_store: ModelStore | None = None
_store_lock = threading.Lock()


def model_store() -> ModelStore:
    """The process-wide store, built from Settings.from_env() on first use."""
    global _store
    with _store_lock:
        if _store is None:
            _store = ModelStore.from_settings(Settings.from_env())
        return _store


def set_model_store(store: ModelStore | None) -> None:
    """Replace the process-wide store (tests, the CLI); None: rebuild from the environment
    on next use."""
    global _store
    with _store_lock:
        _store = store
