"""`convscope`: every mistake is one line on stderr with a documented exit code (2 invalid
arguments or input, 3 an output that cannot be written), never a traceback; outputs are checked
before any computing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.api.samples import sample_digit
from app.cli import main
from app.cli_errors import EXIT_INVALID, EXIT_OUTPUT
from app.cli_inspect import layer_table, number
from tests.api.imagery import png_bytes

ROOT = Path(__file__).resolve().parents[2]


def _one_line_error(capsys, *words: str) -> str:
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "Traceback" not in captured.err + captured.out
    assert len(err.splitlines()) == 1, err
    for word in words:
        assert word in err, (word, err)
    return err


@pytest.fixture
def digit_png(tmp_path) -> Path:
    path = tmp_path / "digit.png"
    path.write_bytes(png_bytes(sample_digit(7)[0]))
    return path


def test_inspect_refuses_an_unwritable_json_path_before_computing(digit_png, capsys):
    # Checked first: even before the image is read (a missing image would be exit 2).
    argv = ["inspect", "/nonexistent/digit.png", "--json", "/nonexistent/x.json"]
    assert main(argv) == EXIT_OUTPUT
    _one_line_error(capsys, "/nonexistent/x.json")
    assert main(["inspect", str(digit_png), "--json", str(digit_png.parent)]) == EXIT_OUTPUT
    _one_line_error(capsys, "directory")


def test_inspect_json_dash_writes_pure_json_to_stdout_and_the_table_to_stderr(digit_png, capsys):
    assert main(["inspect", str(digit_png), "--json", "-", "--include", "activations"]) == 0
    captured = capsys.readouterr()
    body = json.loads(captured.out)
    assert body["include"] == ["activations"] and body["prediction"] == 7
    assert "prediction 7" in captured.err and "conv1" in captured.err


def test_inspect_reports_a_blank_input_as_no_digit(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    blank.write_bytes(png_bytes(sample_digit(0)[0] * 0))
    out = tmp_path / "t.json"
    assert main(["inspect", str(blank), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    body = json.loads(out.read_text())
    assert body["preprocessing"][-1]["step"] == "blank" or body.get("blank") is True
    assert "no digit found" in printed


def test_table_never_prints_negative_zero_and_keeps_tiny_losses_visible():
    assert number(-0.0) == "0" and number(0.0) == "0"
    assert number(2.384e-07) == "2.384e-07"
    assert number(0.04328738) == "0.04329"
    body = {
        "model": "m", "classes": ["a", "b"], "probabilities": [1.0, 0.0], "prediction": 0,
        "target": 0, "loss": -0.0, "layers": [], "preprocessing": [{"step": "sample"}],
    }
    assert "loss 0" in layer_table(body) and "-0" not in layer_table(body)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["train", "--model", "lenet5", "--epochs", "0"], ["--epochs", "at least 1"]),
        (["train", "--model", "lenet5", "--lr", "-1"], ["--lr", "above 0"]),
        (["train", "--model", "lenet5", "--lr", "nan"], ["--lr"]),
        (["train", "--model", "lenet5", "--batch-size", "x"], ["--batch-size", "integer"]),
        (["serve", "--log-level", "loud"], ["--log-level", "loud", "debug"]),
        (["serve", "--port", "70000"], ["--port", "65535"]),
        (["inspect", "x.png", "--target", "-1"], ["--target", "negative"]),
        (["rf", "alexnet", "--input-size", "0"], ["--input-size"]),
        (["nope"], ["invalid choice"]),
    ],
)
def test_invalid_arguments_are_one_line_errors_with_exit_2(argv, words, capsys):
    assert main(argv) == EXIT_INVALID
    _one_line_error(capsys, *words)


def test_train_refuses_an_unwritable_out_dir_before_training(tmp_path, capsys, monkeypatch):
    import app.models.training as training

    def never(*_, **__):
        raise AssertionError("training started before --out was checked")

    monkeypatch.setattr(training, "train_model", never)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["train", "--model", "lenet5", "--out", str(blocker / "sub")]) == EXIT_OUTPUT
    _one_line_error(capsys, "cannot write to", "a-file")


def test_serve_help_shows_the_defaults(capsys):
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    for default in ("127.0.0.1", "8000", "info"):
        assert f"(default: {default})" in out


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('[{"kind": "conv2d", "kernel_size": 3, "strides": 2}]', ["'strides'", "allowed"]),
        ('[{"kind": "linear", "kernel_size": 1}]', ["'linear'", "not supported", "conv2d"]),
        ('[{"kind": "conv2d", "kernel_size": 3},]', ["layers.json", "line 1", "JSON"]),
        ("[]", ["empty"]),
        ('{"layers": [], "input_size": 8}', ["empty"]),
        ('{"layer": [{"kernel_size": 3}]}', ["'layer'"]),
        ('[{"kernel_size": 0}]', ["kernel_size"]),
        ('[{"kernel_size": 3}]', ["input_size", "--input-size"]),
        ("[3]", ["not an object"]),
    ],
)
def test_rf_layer_file_problems_name_the_file_and_exit_2(tmp_path, capsys, content, words):
    path = tmp_path / "layers.json"
    path.write_text(content)
    assert main(["rf", str(path)]) == EXIT_INVALID
    err = _one_line_error(capsys, *words)
    assert "layers.json" in err


def test_rf_reads_the_shipped_example_file(capsys):
    assert main(["rf", str(ROOT / "examples" / "layers.json"), "--input-size", "64", "48"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].split()[:2] == ["conv3", "conv2d"]


def test_cli_as_a_process_shows_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "inspect", str(tmp_path / "missing.png")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == EXIT_INVALID
    assert result.stderr.strip().startswith("convscope inspect: cannot read")
    assert "Traceback" not in result.stderr


def test_the_cli_imports_no_router_or_web_framework():
    """`convscope inspect` and `rf` run the services, not the HTTP layer."""
    import subprocess
    import sys

    code = (
        "import sys, app.cli, app.cli_inspect, app.cli_rf, app.services.inspect\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('app.api', 'fastapi', 'starlette',"
        " 'uvicorn')))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == ""
