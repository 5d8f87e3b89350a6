"""Receptive fields along a graph's own inputs: the chain arithmetic on a chain, the union
of the inputs' fields at an Add, None where no single field exists."""

from __future__ import annotations

from app.models import load_model
from app.nn import INPUT, Add, Conv2d, Graph, MaxPool2d, ReLU, ZeroPad2d
from app.nn.receptive import network_receptive_fields
from app.nn.receptive_graph import graph_receptive_fields


def test_on_a_chain_the_graph_fields_are_the_chain_fields():
    for model_id in ("lenet5", "lenet5-classic"):
        net = load_model(model_id).network
        assert graph_receptive_fields(net, (28, 28)) == network_receptive_fields(net, (28, 28))


def test_an_add_sees_the_union_of_its_inputs_fields_and_a_sibling_branch_its_own():
    net = Graph([
        ("a", Conv2d(1, 2, 3, padding=1), [INPUT]),
        ("b", Conv2d(2, 2, 5, padding=2), ["a"]),
        ("side", Conv2d(2, 2, 1), ["a"]),       # listed after b but reads a
        ("add", Add(), ["b", "side"]),
        ("relu", ReLU(), ["add"]),
    ])
    fields = dict(zip(net.names, graph_receptive_fields(net, (16, 16)), strict=True))
    assert fields["b"]["size"] == [7, 7] and fields["b"]["padding"] == [3, 3]
    assert fields["side"]["size"] == [3, 3] and fields["side"]["padding"] == [1, 1]
    assert fields["add"] == fields["b"] == fields["relu"]


def test_inputs_with_different_jumps_or_unsupported_kinds_have_no_single_field():
    net = Graph([
        ("pool", MaxPool2d(2), [INPUT]),
        ("conv", Conv2d(1, 1, 3, stride=2, padding=1), [INPUT]),
        ("add", Add(), ["pool", "conv"]),         # jumps 2 and 2: a field
        ("pad", ZeroPad2d((1, 0, 0, 0)), ["add"]),
        ("after", ReLU(), ["pad"]),
    ])
    fields = dict(zip(net.names, graph_receptive_fields(net, (8, 8)), strict=True))
    assert fields["add"]["jump"] == [2, 2] and fields["add"]["size"] == [3, 3]
    assert fields["pad"] is None and fields["after"] is None
    # 8x8 -> 4x4 both ways, but with jumps 2 and 1: no single field.
    mixed = Graph([
        ("strided", Conv2d(1, 1, 2, stride=2), [INPUT]),
        ("wide", Conv2d(1, 1, 5), [INPUT]),
        ("add", Add(), ["strided", "wide"]),
    ])
    assert graph_receptive_fields(mixed, (8, 8))[2] is None


def test_a_bundled_graph_is_no_preset_of_the_chain_calculator():
    from app.models.presets import presets

    ids = set(presets())
    assert {"lenet5", "lenet5-classic"} <= ids and "resnet-mini" not in ids
