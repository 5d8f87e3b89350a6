"""/openapi.json generates working clients: openapi-python-client (a whole client, every
operation called once against the in-process app) and datamodel-code-generator (pydantic
models that parse real responses). Both run offline from the served document.

openapi-python-client answers an `image/png` response only when told it is a binary type:
`content_type_overrides: {image/png: application/octet-stream}` in its config (below); the
schema itself declares `type: string, format: binary`."""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
from pathlib import Path

import openapi_python_client
import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

BIN = Path(sys.executable).parent
TYPES_IMPORT = "from ...types import Response, UNSET"
OPERATIONS = {
    "healthz", "list_models", "get_model", "inspect", "list_samples", "get_sample_image",
    "receptive_field", "list_receptive_field_presets",
    "get_trace_layer", "fetch_trace_layer", "upload_model", "delete_model",
}
OPERATIONS |= {"attribution", "sgd_step"}
OPERATIONS |= {"create_training_run", "get_training_run", "training_run_events",
               "pause_training_run", "resume_training_run", "stop_training_run",
               "step_training_run", "check_training_architecture"}
OPERATIONS |= {f"lesson_{name}" for name in (  # /api/v1/lessons/...
    "perceptron_dataset", "perceptron_train", "fc_as_conv", "fc_as_conv_map", "conv_matrix",
    "mlp_matrix_form", "mlp_parameters", "mlp_shift", "equivariance", "equivariance_curve",
    "colour_conv", "colour_gallery", "text_cnn_inspect", "autoencoder_inspect",
    "autoencoder_scatter", "activations")}


@pytest.fixture(scope="module")
def document(client) -> dict:
    return client.get("/openapi.json").json()


def test_openapi_document_is_valid_and_names_every_operation(document):
    validate(document)
    ids = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert ids == OPERATIONS


@pytest.fixture(scope="module")
def generated(document, tmp_path_factory):
    """The client package openapi-python-client generates, imported."""
    root = tmp_path_factory.mktemp("client")
    (root / "openapi.json").write_text(json.dumps(document))
    (root / "config.yml").write_text(
        "package_name_override: convscope_client\n"
        "content_type_overrides:\n  image/png: application/octet-stream\n"
    )
    templates = root / "templates"
    templates.mkdir()
    original = (Path(openapi_python_client.__file__).parent / "templates" /
                "endpoint_module.py.jinja").read_text()
    assert TYPES_IMPORT in original
    (templates / "endpoint_module.py.jinja").write_text(
        original.replace(TYPES_IMPORT, TYPES_IMPORT + ", Unset")
    )
    result = subprocess.run(
        [BIN / "openapi-python-client", "generate", "--path", "openapi.json", "--meta", "none",
         "--config", "config.yml", "--custom-template-path", "templates",
         "--output-path", "convscope_client"],
        cwd=root, capture_output=True, text=True, timeout=120,
        env={"PATH": f"{BIN}:/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("convscope_client")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith("convscope_client")]:
            del sys.modules[name]


def test_generated_client_calls_every_operation_without_hand_edits(generated, app):
    api = importlib.import_module("convscope_client.api")
    m = importlib.import_module("convscope_client.models")
    types = importlib.import_module("convscope_client.types")
    ops = {
        name: importlib.import_module(f"convscope_client.api.{tag}.{name}")
        for tag in ("health", "models", "inspect", "samples", "receptive_field", "lessons",
                    "traces", "attribution", "training")
        for name in OPERATIONS
        if (Path(api.__file__).parent / tag / f"{name}.py").exists()
    }
    assert set(ops) == OPERATIONS
    client = generated.Client(base_url="http://testserver")
    client.set_httpx_client(TestClient(app, base_url="http://testserver"))

    assert isinstance(ops["healthz"].sync(client=client), m.Health)
    models = ops["list_models"].sync(client=client)
    assert isinstance(models, m.ModelList) and models.models[0].id == "lenet5"
    detail = ops["get_model"].sync("lenet5", client=client, include="weights")
    assert isinstance(detail, m.ModelDetail)
    assert isinstance(detail.card, m.ModelCard) and detail.card.heldout.accuracy > 0.9
    conv = detail.layers[0]
    assert conv.config.kernel_size == [5, 5] and isinstance(conv.params.weight, m.TensorBase64)

    samples = ops["list_samples"].sync(client=client, limit=2)
    assert isinstance(samples, m.SampleList) and len(samples.samples) == 2
    png = ops["get_sample_image"].sync(7, client=client)
    assert isinstance(png, types.File) and png.payload.read().startswith(b"\x89PNG")

    by_json = ops["inspect"].sync(
        "lenet5", client=client,
        body=m.InspectJsonRequest(sample=7, encoding=m.InspectJsonRequestEncoding.LIST),
    )
    assert isinstance(by_json, m.InspectResponse), by_json
    assert by_json.blank in (False, types.UNSET)  # a gallery digit is never blank
    assert isinstance(by_json.layers[0].output, m.TensorList)
    layer = ops["get_trace_layer"].sync(
        by_json.trace_id, "conv1", client=client, part=["grad_output"], channels="0-1",
        input_=by_json.trace_input,
    )
    assert isinstance(layer, m.TraceLayerResponse), layer
    assert layer.grad_output.shape == [2, 28, 28] and layer.channels == [0, 1]
    posted = ops["fetch_trace_layer"].sync(
        by_json.trace_id, "pool1", client=client, part=["pool_indices"],
        body=m.TraceLayerRequest(input_=by_json.trace_input),
    )
    assert isinstance(posted, m.TraceLayerResponse), posted
    assert posted.pool_indices.shape == [6, 14, 14]
    image = TestClient(app).get("/api/v1/samples/7.png").content
    by_upload = ops["inspect"].sync(
        "lenet5", client=client,
        body=m.InspectMultipartRequest(
            image=types.File(payload=io.BytesIO(image), file_name="7.png", mime_type="image/png"),
            target=3, include=["activations", "param_grads"],
        ),
    )
    assert isinstance(by_upload, m.InspectResponse), by_upload
    assert by_upload.target == 3 and isinstance(by_upload.layers[0].output, m.TensorBase64)
    assert isinstance(by_upload.layers[0].param_grads.weight, m.TensorBase64)
    assert isinstance(by_upload.timings_ms.total, float)

    missing = ops["inspect"].sync(
        "nope", client=client, body=m.InspectJsonRequest(sample=7)
    )
    assert isinstance(missing, m.ErrorResponse) and missing.error.available == [
        "lenet5", "lenet5-classic", "mlp", "resnet-mini", "colour-cnn", "lstm-rows", "rnn-rows",
        "bilstm-rows"]
    lstm = ops["inspect"].sync("lstm-rows", client=client, body=m.InspectJsonRequest(sample=7))
    assert isinstance(lstm, m.InspectResponse), lstm
    recurrent = lstm.layers[1].recurrent
    assert isinstance(recurrent, m.RecurrentTrace) and recurrent.steps == 28
    assert isinstance(recurrent.directions[0].gates.f, m.TensorBase64)

    cam = ops["attribution"].sync(
        "lenet5", client=client,
        body=m.AttributionJsonRequest(sample=7, method=m.AttributionJsonRequestMethod.GRAD_CAM),
    )
    assert isinstance(cam, m.AttributionResponse), cam
    assert cam.layer == "pool2" and isinstance(cam.heatmap, m.TensorBase64)
    step = ops["sgd_step"].sync(
        "lenet5", client=client, body=m.SgdStepJsonRequest(sample=7, target=3, lr=0.01)
    )
    assert isinstance(step, m.SgdStepResponse), step
    assert step.loss_after < step.loss_before and step.parameters[0].name == "conv1.weight"

    from tests.importers.test_onnx_models import lenet

    net, out = lenet()
    onnx_bytes = net.model(out).SerializeToString()
    card = ops["upload_model"].sync(client=client, body=m.ModelUploadForm(
        file=types.File(payload=io.BytesIO(onnx_bytes), file_name="lenet.onnx"), name="up"))
    assert isinstance(card, m.StoredModelCard) and card.name == "up", card
    deleted = ops["delete_model"].sync_detailed(card.id, client=client)
    assert deleted.status_code == 204
    refused = ops["delete_model"].sync("lenet5", client=client)
    assert isinstance(refused, m.ErrorResponse) and refused.error.code == "model_not_deletable"

    presets = ops["list_receptive_field_presets"].sync(client=client)
    assert any(p.id == "alexnet" for p in presets)
    field = ops["receptive_field"].sync(
        client=client,
        body=m.ReceptiveFieldRequest(preset=m.ReceptiveFieldRequestPresetType0.ALEXNET),
    )
    assert isinstance(field, m.ReceptiveFieldResponse), field
    assert field.layers[-1].size == [195, 195]
    chain = ops["receptive_field"].sync(
        client=client,
        body=m.ReceptiveFieldRequest(
            layers=[m.ReceptiveFieldLayerIn(kernel_size=3, kind=m.ReceptiveFieldLayerInKind.CONV2D),
                    m.ReceptiveFieldLayerIn(kernel_size=2,
                                            kind=m.ReceptiveFieldLayerInKind.MAXPOOL2D)],
            input_size=[8, 6],
        ),
    )
    assert isinstance(chain, m.ReceptiveFieldResponse), chain
    assert chain.layers[1].size == [4, 4] and chain.layers[1].start == [1.5, 1.5]

    xor = ops["lesson_perceptron_dataset"].sync(
        m.LessonPerceptronDatasetName.XOR, client=client, n=8
    )
    assert isinstance(xor, m.Dataset) and len(xor.points) == 8
    trained = ops["lesson_perceptron_train"].sync(
        client=client,
        body=m.TrainRequest(points=[m.Point(x=p.x, y=p.y, label=p.label) for p in xor.points],
                            model=m.TrainRequestModel.MLP, steps=3),
    )
    assert isinstance(trained, m.TrainResponse) and len(trained.steps) == 3
    fc = ops["lesson_fc_as_conv"].sync(client=client, model="lenet5", sample=7)
    assert isinstance(fc, m.FcAsConvResponse) and fc.prediction == fc.label
    pixels = [[0.0] * 56 for _ in range(28)]
    fcn_map = ops["lesson_fc_as_conv_map"].sync(
        client=client, body=m.MapRequest(pixels=pixels)
    )
    assert not isinstance(fcn_map, m.ErrorResponse), fcn_map
    text = ops["lesson_text_cnn_inspect"].sync(
        client=client, body=m.TextInspectRequest(text="gdbadhe")
    )
    assert isinstance(text, m.TextInspectResponse) and text.classes[text.prediction] == "bad"
    recon = ops["lesson_autoencoder_inspect"].sync(
        client=client, body=m.AutoencoderInspectRequest(sample=3)
    )
    assert isinstance(recon, m.AutoencoderInspectResponse) and recon.head == "reconstruction"
    lesson_calls = {
        "lesson_conv_matrix": {"stride": 2, "padding": 1},
        "lesson_mlp_matrix_form": {"sample": 3},
        "lesson_mlp_parameters": {"height": 28, "width": 28, "hidden": 100, "kernel": 5},
        "lesson_mlp_shift": {"pixels": 1},
        "lesson_equivariance": {"dx": 2},
        "lesson_equivariance_curve": {"axis": m.LessonEquivarianceCurveAxis.Y},
        "lesson_colour_conv": {"seed": 1},
        "lesson_colour_gallery": {"per_class": 1},
        "lesson_autoencoder_scatter": {"kernel_size": 4, "stride": 2},
        "lesson_activations": {"x_min": -2.0, "x_max": 2.0, "points": 9},
    }
    for name, kwargs in lesson_calls.items():
        answer = ops[name].sync(client=client, **kwargs)
        assert answer is not None and not isinstance(answer, m.ErrorResponse), (name, answer)

    checked = ops["check_training_architecture"].sync(
        client=client, body=m.BodyCheckTrainingArchitecture(architecture="mlp"))
    assert isinstance(checked, m.ArchitectureCheck) and checked.parameters == 266610
    run = ops["create_training_run"].sync(
        client=client, body=m.TrainingRunRequest(architecture="lenet5", epochs=3))
    assert isinstance(run, m.TrainingRun), run
    for command in ("pause", "step", "resume", "stop"):
        answer = ops[f"{command}_training_run"].sync(run.id, client=client)
        assert isinstance(answer, m.TrainingRun), (command, answer)
    assert answer.status == m.TrainingRunStatus.STOPPED
    assert isinstance(ops["get_training_run"].sync(run.id, client=client), m.TrainingRun)
    stream = ops["training_run_events"].sync_detailed(run.id, client=client)
    assert stream.status_code == 200 and b"event: end" in stream.content


def test_datamodel_code_generator_models_parse_real_responses(document, client, tmp_path):
    (tmp_path / "openapi.json").write_text(json.dumps(document))
    result = subprocess.run(
        [BIN / "datamodel-codegen", "--input", "openapi.json", "--input-file-type", "openapi",
         "--output", "cs_models.py", "--output-model-type", "pydantic_v2.BaseModel",
         "--formatters", "black"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        models = importlib.import_module("cs_models")
        body = client.post(
            "/api/v1/models/lenet5/inspect", json={"sample": 3, "include": "activations,params"}
        ).json()
        parsed = models.InspectResponse.model_validate(body)
        assert parsed.layers[0].params.weight.root.encoding == "base64"
        models.ModelDetail.model_validate(client.get("/api/v1/models/lenet5").json())
        models.ErrorResponse.model_validate(client.get("/api/v1/models/nope").json())
        with pytest.raises(ValueError):
            models.InspectJsonRequest.model_validate({"sample": 1, "pixels": [[0]], "x": 1})
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("cs_models", None)
