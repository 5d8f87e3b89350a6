"""The benchmark suite's own plumbing, with minimal budgets: rows are well formed, the A/B
baseline computes the same numbers, FLOP counts are right, results.md keeps its notes.
No timing is asserted."""

from __future__ import annotations

import numpy as np
import pytest

from bench.baseline import baseline_network
from bench.core import PASSES, bench_network, build, forward_macs, network_passes
from bench.report import BEGIN, END, write_results
from bench.timing import measure, percentile


def test_measure_reports_ordered_statistics_of_at_least_min_repeats():
    calls = []
    timing = measure(lambda: calls.append(1), budget_s=0.0, warmup=2, min_repeats=4)
    assert timing.repeats == 4 and len(calls) == 6
    assert 0 <= timing.minimum <= timing.median <= timing.maximum


def test_percentile_interpolates_between_ranks():
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0], 100) == 3.0
    assert percentile([5.0], 95) == 5.0


def test_lenet5_forward_macs_match_the_hand_count():
    network, shape = build("lenet5", "float32")
    shapes = network.shapes((1, *shape))
    macs = [forward_macs(layer, i, o) for layer, (i, o) in zip(network.layers, shapes, strict=True)]
    # conv1 28*28*6*(1*5*5), conv2 10*10*16*(6*5*5), fc 400*120 + 120*84 + 84*10
    assert sum(macs) == 117_600 + 240_000 + 48_000 + 10_080 + 840


@pytest.mark.parametrize("name", ["lenet5", "tinyvgg"])
def test_baseline_network_computes_what_the_current_one_does(name):
    network, shape = build(name, "float64")
    old = baseline_network(network)
    rng = np.random.default_rng(0)
    x = rng.random((2, *shape))
    targets = np.array([3, 7])
    new_trace, old_trace = network.trace(x, targets), old.trace(x, targets)
    np.testing.assert_allclose(new_trace.logits, old_trace.logits, rtol=1e-12)
    np.testing.assert_allclose(new_trace.input_grad, old_trace.input_grad, rtol=1e-9, atol=1e-15)
    for new_layer, old_layer in zip(new_trace.layers, old_trace.layers, strict=True):
        for key, grad in new_layer.grads.items():
            np.testing.assert_allclose(grad, old_layer.grads[key], rtol=1e-9, atol=1e-15)


def test_network_passes_run_forward_backward_and_both():
    network, shape = build("lenet5", "float32")
    x = np.random.default_rng(0).random((3, *shape)).astype(np.float32)
    passes = network_passes(network, x, np.array([0, 1, 2]))
    assert set(passes) == set(PASSES)
    logits, _ = passes["forward"]()
    assert logits.shape == (3, 10)
    dx, grads = passes["forward+backward"]()
    assert dx.shape == x.shape and len(grads) == len(network)


def test_bench_network_rows_cover_every_pass_and_every_layer():
    rows = bench_network("lenet5", 1, "float32", budget_s=0.0, min_repeats=1)
    network, _ = build("lenet5", "float32")
    whole = [r for r in rows if r.layer == "network"]
    assert [r.phase for r in whole] == list(PASSES)
    per_layer = {(r.layer, r.phase) for r in rows if r.layer != "network"}
    assert per_layer == {(n, p) for n in network.names for p in ("forward", "backward")}
    conv1 = next(r for r in rows if r.layer == "conv1" and r.phase == "forward")
    assert conv1.flops == 2 * 117_600 and conv1.gflops > 0
    assert all(r.timing.minimum > 0 and r.batch == 1 and r.dtype == "float32" for r in rows)


def test_write_results_replaces_only_the_generated_section(tmp_path):
    path = tmp_path / "results.md"
    path.write_text(f"# Notes\n\nbefore\n\n{BEGIN}\nold table\n{END}\n\nafter: A/B notes\n")
    write_results(path, "new table")
    text = path.read_text()
    assert "old table" not in text and "new table" in text
    assert text.startswith("# Notes\n\nbefore") and text.endswith("after: A/B notes\n")
    write_results(tmp_path / "fresh.md", "first")
    assert "first" in (tmp_path / "fresh.md").read_text()


def test_the_trace_bench_builds_resnet18s_shapes_and_parameter_count():
    from bench.traces import resnet18

    network = resnet18()
    shapes = dict(zip(network.names, network.shapes((1, 3, 224, 224)), strict=True))
    assert shapes["maxpool"][1] == (1, 64, 56, 56)
    assert shapes["layer4.1.relu2"][1] == (1, 512, 7, 7) and shapes["fc"][1] == (1, 1000)
    assert network.parameter_count == 11_689_512  # torchvision's resnet18


def test_the_page_bench_graph_is_resnet18_behind_a_digit_upsampling_stem():
    from bench.traces import digit_resnet18

    model = digit_resnet18()
    shapes = dict(zip(model.network.names, model.network.shapes((1, 1, 28, 28)), strict=True))
    assert shapes["upsample"][1] == (1, 3, 224, 224) and shapes["fc"][1] == (1, 10)
    assert len(model.network.names) == 70
