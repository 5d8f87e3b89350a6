"""The ONNX bench's model: torchvision's resnet18, as ONNX, imports with resnet18's shapes,
parameter count and multiply-accumulates."""

from __future__ import annotations


def test_the_onnx_bench_writes_resnet18_with_its_parameters_and_macs():
    from app.importers import import_onnx
    from app.services.model_card import summary
    from bench.onnx_models import resnet18_onnx

    graph, card = import_onnx(resnet18_onnx(224))
    assert graph.parameter_count == 11_689_512  # torchvision's resnet18
    assert card["head"] is None and card["output"]["shape"] == [1, 1000]
    kinds = [layer["kind"] for layer in card["layers"]]
    assert kinds.count("conv2d") == 20 and kinds.count("batchnorm2d") == 20
    totals = summary(graph, (3, 224, 224))
    # fvcore counts resnet18 at 224x224 as 1.814 G multiply-accumulates (convs and fc).
    assert abs(totals["macs"] - 1.814e9) < 0.002e9
