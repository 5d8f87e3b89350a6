"""Graph: a DAG of named layers with one input ("input") and one output, and its trace.

    Graph([("conv1", Conv2d(1, 8, 3, padding=1), ["input"]),
           ("relu1", ReLU(), ["conv1"]),
           ("conv2", Conv2d(8, 8, 3, padding=1), ["relu1"]),
           ("add1", Add(), ["conv2", "relu1"]),          # a residual connection
           ...])

Nodes are listed in topological order: a node's inputs are "input" or nodes listed before
it; a node given without inputs reads the node before it (the first reads "input"), so a
plain list of layers is the chain (`Sequential`). Forward runs the nodes in order; backward
runs them in reverse, and where several nodes read one output their gradients are summed.
`trace` records both passes on top of the same two loops. Holds no per-call state: safe
across threads for inference.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from app.nn.base import Grads, Layer
from app.nn.losses import mse_loss, softmax_cross_entropy
from app.nn.trace import LayerTrace, Trace

INPUT = "input"

_SHORT_NAMES = {
    "conv2d": "conv",
    "convtranspose2d": "deconv",
    "maxpool2d": "pool",
    "avgpool2d": "pool",
    "adaptiveavgpool2d": "pool",
    "adaptivemaxpool2d": "pool",
    "batchnorm2d": "bn",
    "zeropad2d": "pad",
    "linear": "fc",
}

NodeItem = Layer | tuple[str | None, Layer] | tuple[str | None, Layer, Sequence[str] | None]


def _default_names(layers: Sequence[Layer]) -> list[str]:
    counts: dict[str, int] = {}
    names = []
    for layer in layers:
        short = _SHORT_NAMES.get(layer.kind, layer.kind)
        counts[short] = counts.get(short, 0) + 1
        names.append(f"{short}{counts[short]}")
    return names


def _apply(layer: Layer, args: list[np.ndarray]) -> tuple[np.ndarray, Any]:
    return layer.forward(args[0]) if layer.arity == 1 else layer.forward(*args)


class Graph:
    """A DAG of named layers. Built from (name, layer, [input names]) triples, (name, layer)
    pairs or bare layers (a missing name gets a default such as conv1, relu1, pool1, fc1;
    missing inputs mean the previous node). `output` names the output node (default: the
    last); nodes that do not feed it are dropped when it is named, and refused otherwise.

    names, layers, inputs: per node, in topological order; output: the output node's name.
    """

    def __init__(self, nodes: Iterable[NodeItem], output: str | None = None):
        items = [item if isinstance(item, tuple) else (None, item) for item in nodes]
        if not items:
            raise ValueError("a graph needs at least one node")
        layers = []
        for i, item in enumerate(items):
            if len(item) not in (2, 3) or not isinstance(item[1], Layer):
                raise ValueError(f"node {i}: expected (name, layer[, inputs]), got {item!r}")
            layers.append(item[1])
        defaults = _default_names(layers)
        names = [item[0] or d for item, d in zip(items, defaults, strict=True)]
        inputs = []
        for i, item in enumerate(items):
            given = item[2] if len(item) == 3 else None
            if isinstance(given, str) or not (given is None or isinstance(given, (list, tuple))):
                raise ValueError(f"node {names[i]!r}: inputs must be a list of node names, "
                                 f"got {given!r}")
            previous = INPUT if i == 0 else names[i - 1]
            inputs.append(tuple([previous] if given is None else given))
        self._build(names, layers, inputs, output)

    def _build(self, names, layers, inputs, output) -> None:
        if not all(isinstance(name, str) and name for name in names):
            raise ValueError(f"node names must be non-empty strings, got {names}")
        if len(set(names)) != len(names):
            raise ValueError(f"layer names must be unique, got {names}")
        if INPUT in names:
            raise ValueError(f'"{INPUT}" names the graph\'s input; no node may take it')
        seen = {INPUT}
        for name, layer, node_inputs in zip(names, layers, inputs, strict=True):
            if not all(isinstance(n, str) for n in node_inputs):
                raise ValueError(f"node {name!r}: inputs must be node names, got {node_inputs}")
            if layer.arity == 1 and len(node_inputs) != 1:
                raise ValueError(
                    f"node {name!r} ({layer.kind}) takes one input, got {list(node_inputs)}"
                )
            if not node_inputs:
                raise ValueError(f"node {name!r} ({layer.kind}) needs at least one input")
            for source in node_inputs:
                if source not in seen:
                    problem = "is not defined before it" if source in names else "is no node"
                    raise ValueError(
                        f"node {name!r} reads {source!r}, which {problem} (nodes must be "
                        f'listed in topological order; "{INPUT}" is the graph\'s input)'
                    )
            seen.add(name)
        named = output is not None
        if not named:
            output = names[-1]
        elif output not in names:
            raise ValueError(f"output {output!r} is no node; nodes: {', '.join(names)}")
        # The nodes the output depends on, walking back from it.
        live, stack = set(), [output]
        index = {name: i for i, name in enumerate(names)}
        while stack:
            name = stack.pop()
            if name != INPUT and name not in live:
                live.add(name)
                stack.extend(inputs[index[name]])
        dead = [name for name in names if name not in live]
        if dead and named:
            keep = [i for i, name in enumerate(names) if name in live]
            names, layers, inputs = ([seq[i] for i in keep] for seq in (names, layers, inputs))
        elif dead:
            raise ValueError(f"node(s) {', '.join(dead)} do not feed the output {output!r}")
        self.names: list[str] = list(names)
        self.layers: list[Layer] = list(layers)
        self.inputs: list[tuple[str, ...]] = [tuple(i) for i in inputs]
        self.output: str = output
        # How many node inputs read each value: forward frees a value after its last reader.
        self._readers: dict[str, int] = {}
        for node_inputs in self.inputs:
            for source in node_inputs:
                self._readers[source] = self._readers.get(source, 0) + 1

    @property
    def nodes(self) -> list[tuple[str, Layer, tuple[str, ...]]]:
        """(name, layer, input names) per node, in topological order."""
        return list(zip(self.names, self.layers, self.inputs, strict=True))

    @property
    def is_chain(self) -> bool:
        """True when every node reads the node before it (the first reads the input)."""
        return all(
            node_inputs == (INPUT if i == 0 else self.names[i - 1],)
            for i, node_inputs in enumerate(self.inputs)
        )

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        """(name, layer) per node, as Sequential always did."""
        return iter(zip(self.names, self.layers, strict=True))

    @property
    def parameter_count(self) -> int:
        return sum(layer.parameter_count for layer in self.layers)

    def _with_layers(self, layers: list[Layer]) -> Graph:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.layers = list(layers)
        return clone

    def astype(self, dtype) -> Graph:
        """A copy whose layers' parameters and buffers are cast to dtype."""
        return self._with_layers([layer.astype(dtype) for layer in self.layers])

    def train(self, mode: bool = True) -> Graph:
        """Set every node's training mode (BatchNorm's batch statistics, Dropout's masks)."""
        for layer in self.layers:
            layer.train(mode)
        return self

    def eval(self) -> Graph:
        """Inference mode for every node (the default): running statistics, no dropout."""
        return self.train(False)

    def shapes(self, input_shape: tuple[int, ...]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """(input_shape, output_shape) per node for an input shape, batch axis included;
        a node with several inputs reports its first input's shape."""
        known = {INPUT: tuple(input_shape)}
        result = []
        for name, layer, node_inputs in self.nodes:
            shapes = [known[source] for source in node_inputs]
            out = tuple(layer.output_shape(*shapes))
            known[name] = out
            result.append((shapes[0], out))
        return result

    def _forward(self, x: np.ndarray, keep: bool) -> tuple[np.ndarray, list, list | None]:
        """Run every node: -> (output, caches, every node's output if keep)."""
        values = {INPUT: x}
        readers = dict(self._readers)
        caches, outputs = [], [] if keep else None
        for name, layer, node_inputs in self.nodes:
            y, cache = _apply(layer, [values[source] for source in node_inputs])
            caches.append(cache)
            if keep:
                outputs.append(y)
            else:  # free each value once its last reader has run
                for source in node_inputs:
                    readers[source] -= 1
                    if not readers[source]:
                        del values[source]
            values[name] = y
        return values[self.output], caches, outputs

    def _backward(
        self, dy: np.ndarray, caches: list, keep: bool
    ) -> tuple[np.ndarray, list[Grads], list | None]:
        """dL/d(output) -> (dL/d(input), per-node grads, every node's delta if keep).
        A value read by several nodes gets the sum of their gradients."""
        deltas: dict[str, np.ndarray] = {self.output: dy}
        grads: list[Grads] = [{}] * len(self.layers)
        recorded = [None] * len(self.layers) if keep else None
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            delta = deltas.pop(self.names[i])
            if keep:
                recorded[i] = delta
            dxs, grads[i] = layer.backward(delta, caches[i])
            if layer.arity == 1:
                dxs = (dxs,)
            for source, dx in zip(self.inputs[i], dxs, strict=True):
                # Never in place: a layer may hand back dy itself, or a view of it.
                deltas[source] = dx if source not in deltas else deltas[source] + dx
        return deltas[INPUT], grads, recorded

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list]:
        """x -> (output, caches); caches[i] is what node i's backward needs."""
        y, caches, _ = self._forward(x, keep=False)
        return y, caches

    def backward(self, dy: np.ndarray, caches: list) -> tuple[np.ndarray, list[Grads]]:
        """dL/d(output) -> (dL/d(input), per-node parameter gradients)."""
        dx, grads, _ = self._backward(dy, caches, keep=False)
        return dx, grads

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Logits for a batch, forward only."""
        return self.forward(x)[0]

    def trace(self, x: np.ndarray, target=None, head: str = "classification") -> Trace:
        """One forward and one backward pass, recording every node's inputs, output, delta,
        parameters, buffers, parameter gradients and pooling winners.

        head "classification": the output is (N, classes) logits and the loss is softmax
        cross-entropy against `target` (class indices, one per batch item; default: the
        predicted class). head "reconstruction": the output is an image batch and the loss
        is the MSE (`mse_loss`, mean over each item's elements) against `target`, an array
        of the output's shape (default: the input x itself, an autoencoder's target; held
        constant, so input_grad is the gradient through the network only); the trace then
        has no probabilities or prediction (None). Either way each item's delta
        is the gradient of its own loss, not of the batch mean.
        """
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        output, caches, outputs = self._forward(x, keep=True)
        if head == "classification":
            loss, dout, probs, prediction, target = _classification_head(output, target)
        else:
            loss, dout, target = _reconstruction_head(output, x if target is None else target)
            probs = prediction = None
        # The trace reports each item's own loss gradient, not the batch mean's.
        input_grad, grads, deltas = self._backward(dout * output.shape[0], caches, keep=True)
        shapes = {INPUT: x.shape, **{n: o.shape for n, o in zip(self.names, outputs, strict=True)}}
        layer_traces = [
            LayerTrace(
                index=i,
                name=name,
                kind=layer.kind,
                config=layer.config(),
                input_shape=tuple(shapes[node_inputs[0]]),
                output_shape=tuple(outputs[i].shape),
                output=outputs[i],
                grad_output=deltas[i],
                params=dict(layer.params),
                grads=grads[i],
                pool_indices=layer.winners(caches[i]),
                inputs=list(node_inputs),
                buffers=dict(layer.buffers),
                recurrent=layer.record(caches[i], deltas[i]) if hasattr(layer, "record") else None,
            )
            for i, (name, layer, node_inputs) in enumerate(self.nodes)
        ]
        return Trace(
            input=x,
            layers=layer_traces,
            logits=output,
            probabilities=probs,
            prediction=prediction,
            target=np.asarray(target),
            loss=loss,
            input_grad=input_grad,
            head=head,
        )


HEADS = ("classification", "reconstruction")


def _classification_head(logits: np.ndarray, target):
    """Softmax cross-entropy on (N, K) logits -> (loss, dlogits, probs, prediction, target)."""
    if logits.ndim != 2:
        raise ValueError(f"the network must end in (N, classes) logits, got {logits.shape}")
    prediction = logits.argmax(axis=1)
    if target is None:
        target = prediction
    else:
        target = np.asarray(target)
        if target.ndim > 1 or target.size not in (1, prediction.size):
            raise ValueError(
                f"target must be one class index or one per batch item ({prediction.size}), "
                f"got shape {target.shape}"
            )
        target = np.broadcast_to(target, prediction.shape)
    loss, dlogits, probs = softmax_cross_entropy(logits, target)
    return loss, dlogits, probs, prediction, target


def _reconstruction_head(output: np.ndarray, target):
    """MSE against a target of the output's shape -> (loss, doutput, target); the loss is the
    mean over every element of the batch, so each item's own loss is its pixels' mean."""
    target = np.asarray(target)
    if target.shape != output.shape:
        raise ValueError(f"the reconstruction target must have the output's shape "
                         f"{output.shape}, got {target.shape}")
    loss, dout = mse_loss(output, target)
    return loss, dout, target
