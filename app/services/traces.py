"""Where traces live: content-addressed ids, compact recipes, and a bounded in-memory store.

A trace is fully determined by its *recipe*: the model id, its weights' identity (a digest of
every parameter and buffer), the network input's dtype, shape and bytes, and the target
class. The recipe is serialised once, as canonical bytes (a JSON header, a NUL, the input's
little-endian bytes), and

- `trace_id` = sha256 of those bytes (hex): the same model, input and target give the same id;
- the *trace input token* = base64url of the zlib-compressed bytes: the inspect response
  carries it (`trace_input`), and any replica handed it back (`?input=`) checks that it hashes
  to the trace id and recomputes the trace, so no replica needs another's memory.

`TraceStore` keeps recent traces (their arrays) in an LRU capped in bytes, each for at most
`ttl` seconds, and apart from them, the compressed recipes (an LRU of their own, a sixteenth
of the byte cap): after a trace is evicted or expires, its recipe still lets this replica
recompute it. Thread-safe: one lock around every read and write of the two maps.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np

from app.models import Model
from app.nn.trace import Trace
from app.services.errors import ApiError
from app.services.models import get_model
from app.settings import Settings

RECIPE_VERSION = 1
TRACE_ID_PATTERN = r"^[0-9a-f]{64}$"
_TRACE_ID = re.compile(TRACE_ID_PATTERN)
# A recipe never needs more: the largest input a model takes, plus its header.
MAX_RECIPE_BYTES = 64 * 1024 * 1024
_HEADER_LIMIT = 4096

_digests: dict[str, tuple[object, str]] = {}
_digest_lock = threading.Lock()


def weights_digest(model: Model) -> str:
    """sha256 (hex) over every node's parameters and buffers (name, dtype, shape, bytes),
    computed once per loaded network."""
    with _digest_lock:
        known = _digests.get(model.id)
        if known is not None and known[0] is model.network:
            return known[1]
    h = hashlib.sha256()
    for name, layer, _ in model.network.nodes:
        for group in (layer.params, layer.buffers):
            for key in sorted(group):
                value = np.ascontiguousarray(group[key])
                h.update(f"{name}.{key}:{value.dtype.str}:{value.shape}\n".encode())
                h.update(value.tobytes())
    digest = h.hexdigest()
    with _digest_lock:
        _digests[model.id] = (model.network, digest)
    return digest


@dataclass(frozen=True)
class Recipe:
    """What recomputes a trace: the model and its weights, the network input, the target."""

    model_id: str
    weights: str
    input: np.ndarray  # (1, C, H, W), batch axis kept
    target: int

    def to_bytes(self) -> bytes:
        arr = np.ascontiguousarray(self.input)
        wire = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        header = {
            "v": RECIPE_VERSION, "model": self.model_id, "weights": self.weights,
            "dtype": arr.dtype.name, "shape": list(arr.shape), "target": self.target,
        }
        return json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\0" + (
            wire.tobytes()
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> Recipe:
        """The canonical bytes -> a Recipe. ValueError naming what is wrong."""
        head, sep, data = raw.partition(b"\0")
        if not sep or len(head) > _HEADER_LIMIT:
            raise ValueError("no recipe header")
        try:
            header = json.loads(head)
        except (UnicodeDecodeError, ValueError):
            raise ValueError("the recipe header is not JSON") from None
        if not isinstance(header, dict) or header.get("v") != RECIPE_VERSION:
            raise ValueError("unknown recipe version")
        model_id, weights, dtype = header.get("model"), header.get("weights"), header.get("dtype")
        shape, target = header.get("shape"), header.get("target")
        if not (isinstance(model_id, str) and isinstance(weights, str)
                and dtype in ("float32", "float64") and type(target) is int
                and isinstance(shape, list) and shape and all(type(n) is int and n > 0
                                                              for n in shape)):
            raise ValueError("the recipe header is incomplete")
        wire = np.dtype(dtype).newbyteorder("<")
        if int(np.prod(shape)) * wire.itemsize != len(data):
            raise ValueError("the recipe's input does not match its shape")
        array = np.frombuffer(data, dtype=wire).reshape(shape).astype(dtype)
        return cls(model_id, weights, array, target)


def recipe_of(model: Model, trace: Trace) -> bytes:
    """The canonical recipe bytes of a trace of `model` (batch of one)."""
    return Recipe(model.id, weights_digest(model), trace.input, int(trace.target[0])).to_bytes()


def trace_id_of(recipe: bytes) -> str:
    return hashlib.sha256(recipe).hexdigest()


def pack_recipe(recipe: bytes) -> bytes:
    """Recipe bytes, zlib-compressed: what the store keeps and the token carries."""
    return zlib.compress(recipe, 6)


def encode_token(packed: bytes) -> str:
    """A packed recipe -> the trace input token (base64url, no padding)."""
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def decode_token(token: str) -> bytes:
    """A trace input token -> recipe bytes. ValueError when it is not one; never inflates
    more than MAX_RECIPE_BYTES."""
    try:
        packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("it is not base64url") from None
    inflate = zlib.decompressobj()
    try:
        raw = inflate.decompress(packed, MAX_RECIPE_BYTES)
    except zlib.error:
        raise ValueError("it is not a compressed recipe") from None
    if inflate.unconsumed_tail or not inflate.eof:
        raise ValueError("it is truncated or too large")
    return raw


def check_trace_id(trace_id: str) -> None:
    if not _TRACE_ID.match(trace_id):
        raise ApiError(
            422, "invalid_trace_id",
            "a trace id is 64 lowercase hex digits (the `trace_id` of an inspect response)",
            field="trace_id",
        )


def trace_nbytes(trace: Trace) -> int:
    """Bytes a stored trace holds of its own (the model's parameters are shared, not counted)."""
    total = trace.input.nbytes + trace.input_grad.nbytes + trace.logits.nbytes
    for lt in trace.layers:
        total += lt.output.nbytes
        for array in (lt.grad_output, lt.pool_indices, *lt.grads.values()):
            total += 0 if array is None else array.nbytes
    return total


@dataclass
class _Entry:
    model_id: str
    trace: Trace
    nbytes: int
    expires: float


class TraceStore:
    """An LRU of traces capped at `max_bytes` (trace_nbytes) and `ttl` seconds from when each
    was stored, and an LRU of their compressed recipes capped at `recipe_bytes`. `clock` is
    injectable (tests). A trace bigger than the whole cap keeps only its recipe."""

    def __init__(self, max_bytes: int, ttl: float, *, recipe_bytes: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self.ttl = float(ttl)
        self.recipe_bytes = max(1 << 20, self.max_bytes // 16) if recipe_bytes is None else (
            recipe_bytes
        )
        self._clock = clock
        self._lock = threading.Lock()
        self._traces: OrderedDict[str, _Entry] = OrderedDict()
        self._recipes: OrderedDict[str, bytes] = OrderedDict()
        self._inflight: dict[str, tuple[threading.Lock, int]] = {}
        self._bytes = 0
        self._recipe_total = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> TraceStore:
        return cls(settings.trace_cache_bytes, settings.trace_ttl)

    @property
    def nbytes(self) -> int:
        """Bytes of the traces held now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._traces)

    def __contains__(self, trace_id: str) -> bool:
        return self.get(trace_id) is not None

    def put(self, trace_id: str, model_id: str, trace: Trace, packed_recipe: bytes) -> None:
        """Keep a trace (evicting the least recently used until it fits) and its recipe."""
        size = trace_nbytes(trace)
        with self._lock:
            self._remember(trace_id, packed_recipe)
            old = self._traces.pop(trace_id, None)
            if old is not None:
                self._bytes -= old.nbytes
            if size > self.max_bytes:
                return
            while self._traces and self._bytes + size > self.max_bytes:
                _, evicted = self._traces.popitem(last=False)
                self._bytes -= evicted.nbytes
            self._traces[trace_id] = _Entry(model_id, trace, size, self._clock() + self.ttl)
            self._bytes += size

    def get(self, trace_id: str) -> tuple[str, Trace] | None:
        """(model id, trace) if held and not expired (it becomes the most recently used)."""
        with self._lock:
            entry = self._traces.get(trace_id)
            if entry is None:
                return None
            if self._clock() >= entry.expires:
                del self._traces[trace_id]
                self._bytes -= entry.nbytes
                return None
            self._traces.move_to_end(trace_id)
            return entry.model_id, entry.trace

    def packed_recipe(self, trace_id: str) -> bytes | None:
        """The zlib-compressed recipe of a trace this store has seen, if still held."""
        with self._lock:
            packed = self._recipes.get(trace_id)
            if packed is not None:
                self._recipes.move_to_end(trace_id)
            return packed

    @contextmanager
    def computing(self, trace_id: str) -> Iterator[None]:
        """Hold the lock of one trace id while computing it, so concurrent misses of the same
        trace wait for one computation instead of each running its own."""
        with self._lock:
            lock, users = self._inflight.get(trace_id, (threading.Lock(), 0))
            self._inflight[trace_id] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                lock, users = self._inflight[trace_id]
                if users == 1:
                    del self._inflight[trace_id]
                else:
                    self._inflight[trace_id] = (lock, users - 1)

    def _remember(self, trace_id: str, packed: bytes) -> None:
        old = self._recipes.pop(trace_id, None)
        if old is not None:
            self._recipe_total -= len(old)
        if len(packed) > self.recipe_bytes:
            return
        while self._recipes and self._recipe_total + len(packed) > self.recipe_bytes:
            _, evicted = self._recipes.popitem(last=False)
            self._recipe_total -= len(evicted)
        self._recipes[trace_id] = packed
        self._recipe_total += len(packed)


def trace_not_found(trace_id: str, why: str) -> ApiError:
    return ApiError(
        404, "trace_not_found",
        f"trace {trace_id} cannot be recomputed: {why}; run the inspection again (or send the "
        "response's `trace_input` back as `input`)",
        trace_id=trace_id,
    )


def recompute(trace_id: str, recipe: bytes) -> tuple[Model, Trace]:
    """Run the pass a recipe describes again: the same numbers (same process and BLAS)."""
    parsed = Recipe.from_bytes(recipe)
    try:
        model = get_model(parsed.model_id)
    except ApiError:
        raise trace_not_found(trace_id, f"model {parsed.model_id!r} is not served here") from None
    if weights_digest(model) != parsed.weights:
        raise trace_not_found(trace_id, f"model {model.id!r} has other weights now")
    expected = (1, *model.input_shape)
    if tuple(parsed.input.shape) != expected or parsed.target >= len(model.classes) or (
        parsed.target < 0
    ):
        raise trace_not_found(trace_id, "its input or target does not fit the model")
    return model, model.network.trace(parsed.input, [parsed.target])


def _recipe_for(store: TraceStore | None, trace_id: str, token: str | None) -> tuple[bytes, bytes]:
    """(recipe, packed recipe): this store's own copy, else the client's token, checked."""
    packed = store.packed_recipe(trace_id) if store is not None else None
    if packed is not None:
        return zlib.decompress(packed), packed
    if not token:
        raise trace_not_found(trace_id, "it is not held here and no `input` token was sent")
    try:
        recipe = decode_token(token)
    except ValueError as exc:
        raise ApiError(422, "invalid_trace_input", f"`input` is not a trace input token: {exc}",
                       field="input") from None
    if trace_id_of(recipe) != trace_id:
        raise ApiError(422, "trace_input_mismatch",
                       "`input` is the token of another trace (its hash is not the trace id)",
                       field="input")
    return recipe, pack_recipe(recipe)


def resolve(store: TraceStore | None, trace_id: str, token: str | None) -> tuple[str, Trace, bool]:
    """(model id, trace, recomputed) for a trace id: from the store, else recomputed from
    the stored recipe or from the client's token (which must hash to the id). Concurrent
    misses of one trace compute it once: the others wait for it and read it from the store."""
    check_trace_id(trace_id)
    held = store.get(trace_id) if store is not None else None
    if held is not None:
        return held[0], held[1], False
    recipe, packed = _recipe_for(store, trace_id, token)
    with store.computing(trace_id) if store is not None else nullcontext():
        held = store.get(trace_id) if store is not None else None
        if held is not None:  # another request computed it while this one waited
            return held[0], held[1], False
        try:
            model, trace = recompute(trace_id, recipe)
        except ValueError as exc:  # a recipe that hashes right but is not one
            raise ApiError(422, "invalid_trace_input", f"the trace input is invalid: {exc}",
                           field="input") from None
        if store is not None:
            store.put(trace_id, model.id, trace, packed)
    return model.id, trace, True
