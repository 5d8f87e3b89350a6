"""`convscope inspect IMAGE`: the same pipeline and the same JSON as POST /inspect."""

from __future__ import annotations

import json

import numpy as np

from app.api.samples import sample_digit
from app.cli import main
from app.services.encoding import decode_tensor
from tests.api.imagery import photo_like, png_bytes
from tests.floats import assert_json_equal_up_to_rounding


def _without_timings(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "timings_ms"}


def test_cli_writes_the_apis_json_and_prints_a_layer_table(client, tmp_path, capsys):
    digit, label = sample_digit(21)
    image = tmp_path / "photo.png"
    image.write_bytes(png_bytes(photo_like(digit, seed=3)))
    out = tmp_path / "trace.json"

    code = main(["inspect", str(image), "--target", "2", "--include", "pool_mask,params",
                 "--include", "param_grads", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    cli_body = json.loads(out.read_text())

    with image.open("rb") as f:
        api_body = client.post(
            "/api/v1/models/lenet5/inspect",
            files={"image": ("photo.png", f, "image/png")},
            data={"target": "2", "include": "pool_mask,params,param_grads"},
        ).json()
    # Both ran the core, on two threads: the same trace up to rounding (any BLAS kernel).
    assert_json_equal_up_to_rounding(_without_timings(cli_body), _without_timings(api_body))
    assert cli_body["include"] == ["pool_mask", "params", "param_grads"]
    assert cli_body["prediction"] == label

    assert f"prediction {label}" in printed and "target 2" in printed
    for layer in cli_body["layers"]:
        assert layer["name"] in printed
    conv1 = cli_body["layers"][0]
    assert "6x28x28" in printed
    assert np.asarray(decode_tensor(conv1["params"]["weight"])).shape == (6, 1, 5, 5)


def test_cli_table_shows_activation_and_delta_ranges(tmp_path, capsys):
    digit, _ = sample_digit(4)
    image = tmp_path / "digit.png"
    image.write_bytes(png_bytes(digit))
    assert main(["inspect", str(image), "--json", str(tmp_path / "t.json")]) == 0
    printed = capsys.readouterr().out
    body = json.loads((tmp_path / "t.json").read_text())
    conv1 = body["layers"][0]
    row = next(line for line in printed.splitlines() if " conv1 " in line)
    for value in (conv1["output"]["min"], conv1["output"]["max"],
                  conv1["grad_output"]["min"], conv1["grad_output"]["max"]):
        assert f"{value:.4g}" in row


def test_cli_reports_errors_with_a_nonzero_exit(tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    assert main(["inspect", str(text)]) == 2
    assert "error" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path / "missing.png")]) == 2
    assert "cannot read" in capsys.readouterr().err
    image = tmp_path / "d.png"
    image.write_bytes(png_bytes(sample_digit(0)[0]))
    assert main(["inspect", str(image), "--target", "12"]) == 2
    assert "invalid_target" in capsys.readouterr().err
    assert main(["inspect", str(image), "--model", "nope"]) == 2
    assert "model_not_found" in capsys.readouterr().err
