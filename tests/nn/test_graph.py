"""Graph: DAGs of named nodes. Residual blocks, concats and fan-out checked against finite
differences of the loss (hand-built and hypothesis-drawn), the sum of gradients where one
output feeds several nodes, validation, the spec with "inputs", buffers in the weights,
train/eval, and Sequential as the chain case."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.nn import (
    INPUT,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    Add,
    BatchNorm2d,
    Concat,
    Conv2d,
    Dropout,
    Flatten,
    Graph,
    Identity,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    dump_params,
    from_spec,
    load_params,
    softmax_cross_entropy,
    to_spec,
)
from app.nn.trace import summary
from tests.nn.gradcheck import assert_gradients_close, numerical_gradient

F64 = np.float64


def run_graph(graph: Graph, x: np.ndarray, override: tuple[int, np.ndarray] | None = None,
              before: list[np.ndarray] | None = None):
    """Forward written out again from graph.nodes, with node `override[0]`'s output
    replaced by `override[1]`: the loss as a function of one node's output. `before`, the
    nodes' outputs of an unperturbed pass, spares recomputing the nodes before the override."""
    values = {INPUT: x}
    start = 0
    if override is not None and before is not None:
        start = override[0]
        values.update(zip(graph.names[:start], before[:start], strict=True))
    for i, (name, layer, inputs) in enumerate(graph.nodes[start:], start):
        args = [values[source] for source in inputs]
        y = layer.forward(*args)[0] if layer.arity != 1 else layer.forward(args[0])[0]
        values[name] = override[1] if override is not None and override[0] == i else y
    return values[graph.output]


def summed_loss(logits, targets) -> float:
    return softmax_cross_entropy(logits, targets)[0] * logits.shape[0]


def check_trace_against_finite_differences(graph: Graph, x: np.ndarray, targets) -> None:
    """input_grad, every node's delta and every parameter gradient of graph.trace equal
    central differences of the summed loss."""
    trace = graph.trace(x, targets)
    numeric = numerical_gradient(lambda v: summed_loss(run_graph(graph, v), targets), x.copy())
    assert_gradients_close({"input": trace.input_grad}, {"input": numeric})
    before = [node.output for node in trace.layers]
    for i, node in enumerate(trace.layers):
        output = node.output.copy()
        numeric = numerical_gradient(
            lambda h, i=i: summed_loss(run_graph(graph, x, (i, h), before), targets), output
        )
        assert_gradients_close({"delta": node.grad_output}, {"delta": numeric}, context=node.name)
        layer = graph.layers[i]
        numeric = {
            key: numerical_gradient(lambda _: summed_loss(run_graph(graph, x), targets), p)
            for key, p in layer.params.items()
        }
        assert_gradients_close(node.grads, numeric, context=node.name)


def residual_net(rng, training: bool = False) -> Graph:
    """conv -> bn -> tanh, then a residual block (conv, bn, tanh, conv, add the block's input),
    a concat of two branches, global average pooling and a linear head, on 2x5x6."""
    def conv(c_in, c_out, k=3):
        return Conv2d(c_in, c_out, k, padding=k // 2, rng=rng, dtype=F64)

    def bn(c):
        layer = BatchNorm2d(c, momentum=0.0, dtype=F64)
        layer.params["weight"] = rng.uniform(0.5, 1.5, c)
        layer.params["bias"] = rng.standard_normal(c) * 0.1
        layer.buffers["running_mean"] = rng.standard_normal(c) * 0.1
        layer.buffers["running_var"] = rng.uniform(0.5, 1.5, c)
        return layer

    graph = Graph([
        ("stem", conv(2, 3), [INPUT]),
        ("stem_bn", bn(3), ["stem"]),
        ("stem_act", Tanh(), ["stem_bn"]),
        ("block_conv1", conv(3, 3), ["stem_act"]),
        ("block_bn", bn(3), ["block_conv1"]),
        ("block_act", Tanh(), ["block_bn"]),
        ("block_conv2", conv(3, 3), ["block_act"]),
        ("block_add", Add(), ["block_conv2", "stem_act"]),   # the skip connection
        ("branch", conv(3, 2, 1), ["block_add"]),
        ("cat", Concat(), ["block_add", "branch"]),           # 3 + 2 channels
        ("gap", AdaptiveAvgPool2d(1), ["cat"]),
        ("flat", Flatten(), ["gap"]),
        ("fc", Linear(5, 4, rng=rng, dtype=F64), ["flat"]),
    ])
    return graph.train(training)


@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_residual_graph_trace_matches_finite_differences_of_the_loss(training):
    rng = np.random.default_rng(0)
    graph = residual_net(rng, training)
    x = rng.standard_normal((2, 2, 5, 6))
    check_trace_against_finite_differences(graph, x, np.array([1, 3]))


def test_fan_out_sums_the_gradients_of_every_reader():
    """Hand-worked: y = a + 2a... with a = x read by an Add twice and by a second path,
    dL/dx is the sum of every path's gradient."""
    graph = Graph([
        ("a", Identity(), [INPUT]),
        ("double", Add(), ["a", "a"]),          # 2a: the same value read twice
        ("sum", Add(), ["double", "a"]),        # 3a: and once more
        ("flat", Flatten(), ["sum"]),
    ])
    x = np.arange(6, dtype=F64).reshape(1, 6)
    y, caches = graph.forward(x)
    np.testing.assert_array_equal(y, 3 * x)
    dy = np.ones_like(y) * 0.5
    dx, grads = graph.backward(dy, caches)
    np.testing.assert_array_equal(dx, 1.5 * np.ones_like(x))
    assert grads == [{}, {}, {}, {}]


def test_skip_connection_delta_is_the_sum_of_both_paths():
    rng = np.random.default_rng(1)
    graph = residual_net(rng)
    trace = graph.trace(rng.standard_normal((1, 2, 5, 6)), [2])
    by_name = {node.name: node for node in trace.layers}
    # stem_act feeds block_conv1 and block_add: its delta is the sum of what both send back.
    through_block = graph.layers[graph.names.index("block_conv1")].backward(
        by_name["block_conv1"].grad_output,
        graph.layers[graph.names.index("block_conv1")].forward(by_name["stem_act"].output)[1],
    )[0]
    skip = by_name["block_add"].grad_output
    np.testing.assert_allclose(by_name["stem_act"].grad_output, through_block + skip,
                               rtol=1e-12, atol=1e-14)


def test_trace_records_each_nodes_inputs_and_shapes():
    rng = np.random.default_rng(2)
    graph = residual_net(rng)
    x = rng.standard_normal((1, 2, 5, 6))
    trace = graph.trace(x)
    assert [node.inputs for node in trace.layers] == [list(i) for i in graph.inputs]
    assert trace.layers[0].inputs == [INPUT]
    assert trace.layers[7].inputs == ["block_conv2", "stem_act"]
    for node, (in_shape, out_shape) in zip(trace.layers, graph.shapes(x.shape), strict=True):
        assert node.input_shape == in_shape and node.output_shape == out_shape
    assert set(trace.layers[1].buffers) == {"running_mean", "running_var"}


def test_adaptive_max_pool_winners_reach_the_trace():
    rng = np.random.default_rng(3)
    graph = Sequential([AdaptiveMaxPool2d((2, 3)), Flatten(), Linear(6, 2, rng=rng, dtype=F64)])
    x = rng.standard_normal((1, 1, 5, 7))
    trace = graph.trace(x)
    _, (indices, _) = AdaptiveMaxPool2d((2, 3)).forward(x)
    np.testing.assert_array_equal(trace.layers[0].pool_indices, indices)


def test_a_chain_graph_and_a_sequential_give_the_same_trace():
    rng = np.random.default_rng(4)
    layers = [Conv2d(1, 2, 3, rng=rng, dtype=F64), ReLU(), Flatten(), Linear(18, 3, rng=rng,
                                                                              dtype=F64)]
    names = ["c", "r", "f", "l"]
    chain = Graph([(n, layer, [prev]) for n, layer, prev in
                   zip(names, layers, [INPUT, *names[:-1]], strict=True)])
    seq = Sequential(list(zip(names, layers, strict=True)))
    assert chain.is_chain and seq.is_chain
    x = rng.standard_normal((2, 1, 5, 5))
    a, b = chain.trace(x), seq.trace(x)
    np.testing.assert_allclose(a.input_grad, b.input_grad, rtol=1e-12, atol=1e-15)
    for la, lb in zip(a.layers, b.layers, strict=True):
        np.testing.assert_allclose(la.grad_output, lb.grad_output, rtol=1e-12, atol=1e-15)


def test_train_and_eval_set_every_nodes_mode():
    graph = residual_net(np.random.default_rng(5))
    assert all(layer.training for layer in graph.train().layers)
    assert not any(layer.training for layer in graph.eval().layers)


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ([("a", ReLU(), ["b"]), ("b", ReLU(), ["a"])], "not defined before it"),
        ([("a", ReLU(), ["nowhere"])], "is no node"),
        ([("a", ReLU(), [INPUT]), ("a", ReLU(), ["a"])], "unique"),
        ([(INPUT, ReLU(), [INPUT])], "graph's input"),
        ([("a", ReLU(), [INPUT, INPUT])], "takes one input"),
        ([("a", Add(), [])], "at least one input"),
        ([("a", ReLU(), [INPUT]), ("b", ReLU(), [INPUT])], "do not feed the output"),
        ([], "at least one node"),
        ([("a", ReLU(), INPUT)], "inputs must be a list of node names"),
        ([(3, ReLU(), [INPUT])], "names must be non-empty strings"),
    ],
    ids=["cycle", "unknown", "duplicate", "input-name", "arity", "no-inputs", "dead", "empty",
         "inputs-a-string", "name-not-a-string"],
)
def test_graph_refuses_malformed_dags_by_name(nodes, message):
    with pytest.raises(ValueError, match=message):
        Graph(nodes)


def test_a_named_output_drops_the_nodes_that_do_not_feed_it():
    graph = Graph([("a", ReLU(), [INPUT]), ("aux", Tanh(), ["a"]), ("b", Sigmoid(), ["a"])],
                  output="a")
    assert graph.names == ["a"] and graph.output == "a"
    graph = Graph([("a", ReLU(), [INPUT]), ("aux", Tanh(), ["a"]), ("b", Sigmoid(), ["a"])],
                  output="b")
    assert graph.names == ["a", "b"]


def test_spec_round_trip_keeps_inputs_weights_and_buffers():
    rng = np.random.default_rng(6)
    graph = residual_net(rng)
    spec = to_spec(graph)
    assert spec[7]["inputs"] == ["block_conv2", "stem_act"]
    assert "inputs" not in spec[1]  # reading the node before it is the default
    rebuilt = from_spec(spec, rng=1, dtype=F64)
    assert type(rebuilt) is Graph and rebuilt.inputs == graph.inputs
    arrays = dump_params(graph)
    assert "stem_bn.running_mean" in arrays and "stem_bn.weight" in arrays
    load_params(rebuilt, arrays)
    x = rng.standard_normal((1, 2, 5, 6))
    np.testing.assert_allclose(rebuilt.predict(x), graph.predict(x), rtol=1e-12, atol=1e-14)
    del arrays["stem_bn.running_var"]
    with pytest.raises(ValueError, match="missing buffer stem_bn.running_var"):
        load_params(rebuilt, arrays)


def test_a_spec_without_inputs_is_still_a_sequential():
    spec = [{"kind": "flatten", "name": "flat"}, {"kind": "linear", "in_features": 4,
                                                   "out_features": 2}]
    net = from_spec(spec, rng=0)
    assert type(net) is Sequential and net.names == ["flat", "fc1"]
    assert to_spec(net) == [{"kind": "flatten", "name": "flat"},
                            {"kind": "linear", "name": "fc1", "in_features": 4,
                             "out_features": 2, "bias": True}]


def test_from_spec_names_bad_inputs():
    with pytest.raises(ValueError, match="inputs must be a list of node names"):
        from_spec([{"kind": "relu", "inputs": "input"}])
    with pytest.raises(ValueError, match="is no node"):
        from_spec([{"kind": "relu", "name": "a", "inputs": ["b"]}])


def test_dropout_in_a_graph_is_the_identity_after_eval():
    rng = np.random.default_rng(7)
    graph = Sequential([Dropout(0.5, rng=0), Flatten(), Linear(4, 2, rng=rng, dtype=F64)])
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(graph.predict(x), graph.layers[2].forward(x)[0], rtol=1e-12)


# Random DAGs: hypothesis draws the nodes; every node feeds the output.

@st.composite
def random_dags(draw):
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    nodes, channels = [], {INPUT: 2}
    for i in range(draw(st.integers(2, 7))):
        name = f"n{i}"
        sources = list(channels)
        op = draw(st.sampled_from(["conv", "tanh", "bn", "add", "concat", "sigmoid"]))
        a = draw(st.sampled_from(sources))
        if op == "add":
            same = [s for s in sources if channels[s] == channels[a]]
            b = draw(st.sampled_from(same))  # may be a itself: fan-out into one node
            nodes.append((name, Add(), [a, b]))
            channels[name] = channels[a]
        elif op == "concat":
            b = draw(st.sampled_from(sources))
            nodes.append((name, Concat(), [a, b]))
            channels[name] = channels[a] + channels[b]
        elif op == "conv":
            c_out = draw(st.integers(1, 3))
            k = draw(st.sampled_from([1, 3]))
            groups = draw(st.sampled_from([g for g in (1, 2) if channels[a] % g == 0]))
            layer = Conv2d(channels[a], c_out * groups, k, padding=k // 2, groups=groups,
                           rng=rng, dtype=F64)
            nodes.append((name, layer, [a]))
            channels[name] = c_out * groups
        elif op == "bn":
            layer = BatchNorm2d(channels[a], momentum=0.0, dtype=F64)
            layer.params["weight"] = rng.uniform(0.5, 1.5, channels[a])
            layer.buffers["running_var"] = rng.uniform(0.5, 1.5, channels[a])
            nodes.append((name, layer, [a]))
            channels[name] = channels[a]
        else:
            nodes.append((name, Tanh() if op == "tanh" else Sigmoid(), [a]))
            channels[name] = channels[a]
    read = {source for _, _, inputs in nodes for source in inputs}
    sinks = [name for name, _, _ in nodes if name not in read]
    nodes.append(("sinks", Concat(), sinks))
    total = sum(channels[s] for s in sinks)
    nodes += [("gap", AdaptiveAvgPool2d((1, 2)), ["sinks"]), ("flat", Flatten(), ["gap"]),
              ("fc", Linear(2 * total, 3, rng=rng, dtype=F64), ["flat"])]
    graph = Graph(nodes).train(draw(st.booleans()))
    return graph, rng.standard_normal((2, 2, 4, 3)), rng.integers(0, 3, 2)


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(random_dags())
def test_random_dags_trace_matches_finite_differences(dag):
    graph, x, targets = dag
    check_trace_against_finite_differences(graph, x, targets)


def test_summary_gives_shape_range_mean_and_per_channel_energy():
    x = np.array([[[[1.0, -3.0]], [[0.0, 2.0]]], [[[-1.0, 3.0]], [[4.0, -2.0]]]])  # (2, 2, 1, 2)
    s = summary(x)
    assert s["shape"] == [2, 2, 1, 2] and s["min"] == -3.0 and s["max"] == 4.0
    assert s["mean"] == pytest.approx(0.5)
    assert s["channel_energy"] == pytest.approx([2.0, 2.0])
    assert summary(np.array([[1.0, -2.0]]))["channel_energy"] == pytest.approx([1.0, 2.0])


# Robustness: any spec either builds a graph that runs, or is refused with a ValueError.

_names = st.sampled_from([INPUT, "a", "b", "c", "d", "zz"])
_entries = st.fixed_dictionaries(
    {"kind": st.sampled_from(["relu", "add", "concat", "identity", "zeropad2d", "flatten",
                              "adaptiveavgpool2d", "nope"])},
    optional={
        "name": st.sampled_from(["a", "b", "c", "d", INPUT]),
        "inputs": st.one_of(st.lists(_names, max_size=3), st.just("a"), st.just([1])),
        "padding": st.one_of(st.integers(-1, 2), st.lists(st.integers(0, 2), max_size=5)),
        "output_size": st.one_of(st.integers(0, 3), st.just([2, 1]), st.just("x")),
        "dim": st.one_of(st.integers(-5, 4), st.just(None)),
    },
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(spec=st.lists(_entries, max_size=5), shape=st.sampled_from([(1, 2, 3, 3), (2, 1, 2, 4)]))
def test_any_spec_builds_a_graph_that_runs_or_is_refused_by_name(spec, shape):
    try:
        graph = from_spec(spec)
    except ValueError as exc:
        event("refused")
        assert str(exc)
        return
    assert isinstance(graph, Graph)
    x = np.random.default_rng(0).standard_normal(shape)
    try:
        y, caches = graph.forward(x)
    except ValueError as exc:  # shapes that do not fit the layers, named
        event("built, input refused")
        assert str(exc)
        return
    event("ran")
    dx, _ = graph.backward(np.ones_like(y), caches)
    assert dx.shape == x.shape


def test_concurrent_inference_traces_equal_the_serial_ones():
    """Inference mode keeps no per-call state, BatchNorm included: threads share one graph."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(8)
    graph = residual_net(rng)
    xs = [rng.standard_normal((1, 2, 5, 6)) for _ in range(8)]
    serial = [graph.trace(x).input_grad for x in xs]
    buffers = {k: v.copy() for k, v in graph.layers[1].buffers.items()}
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda x: graph.trace(x).input_grad, xs))
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    for key, value in buffers.items():
        np.testing.assert_array_equal(graph.layers[1].buffers[key], value)
