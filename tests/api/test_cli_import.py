"""`convscope import MODEL.onnx` writes into the model store the server reads and prints
the card; `convscope inspect IMAGE --model ID` then works on the stored model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.cli import main
from app.cli_errors import EXIT_INVALID
from app.services.model_store import set_model_store
from app.services.samples import sample_digit
from tests.api.imagery import png_bytes
from tests.importers.test_onnx_models import lenet


@pytest.fixture
def model_dir(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    monkeypatch.setenv("CONVSCOPE_MODEL_DIR", str(folder))
    set_model_store(None)  # rebuilt from the environment
    yield folder
    set_model_store(None)


@pytest.fixture
def onnx_file(tmp_path):
    net, out = lenet()
    path = tmp_path / "lenet.onnx"
    path.write_bytes(net.model(out).SerializeToString())
    return path


def test_import_stores_the_model_and_prints_its_card(model_dir, onnx_file, tmp_path, capsys):
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"digit {i}\n" for i in range(10)))
    code = main(["import", str(onnx_file), "--classes", str(labels), "--name", "LeNet",
                 "--mean", "0.1307", "--std", "0.3081"])
    assert code == 0
    out = capsys.readouterr().out
    model_id = out.split()[1]
    assert out.startswith(f"stored: {model_id}  LeNet")
    assert "61,706 parameters" in out and "conv2d" in out
    card = json.loads((model_dir / model_id / "card.json").read_text())
    assert card["classes"][3] == "digit 3" and card["input"]["std"] == [0.3081]

    assert main(["import", str(onnx_file), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again == card  # the same bytes: the stored card, unchanged


def test_inspect_runs_a_stored_model_by_its_id(model_dir, onnx_file, tmp_path, capsys):
    assert main(["import", str(onnx_file), "--json"]) == 0
    model_id = json.loads(capsys.readouterr().out)["id"]
    digit, _ = sample_digit(4)
    image = tmp_path / "four.png"
    image.write_bytes(png_bytes(digit))
    out = tmp_path / "trace.json"
    assert main(["inspect", str(image), "--model", model_id, "--json", str(out)]) == 0
    assert f"model {model_id}: prediction" in capsys.readouterr().out
    body = json.loads(out.read_text())
    assert body["model"] == model_id and len(body["logits"]) == 10


@pytest.mark.parametrize("args, message", [
    (["import", "/nonexistent.onnx"], "cannot read /nonexistent.onnx"),
    (["import", "{onnx}", "--classes", "{onnx}"], "not UTF-8 text"),
    (["import", "{onnx}", "--std", "0"], "input.std must be positive"),
    (["import", "{junk}"], "(invalid_model)"),
])
def test_import_mistakes_are_one_line_and_exit_2(model_dir, onnx_file, tmp_path, capsys,
                                                  args, message):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    args = [a.format(onnx=onnx_file, junk=junk) for a in args]
    assert main(args) == EXIT_INVALID
    err = capsys.readouterr().err.strip()
    assert err.startswith("convscope import: ") and message in err and "\n" not in err


def test_the_import_command_and_the_store_import_no_router_or_web_framework():
    code = (
        "import sys, app.cli, app.cli_import, app.services.model_store, app.services.models\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('app.api', 'fastapi', 'starlette',"
        " 'uvicorn')))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == ""
