"""`convscope rf`: the seed-style table for a preset or a JSON file of layers."""

from __future__ import annotations

import json

from app.cli import main


def _table(text):
    lines = text.strip().splitlines()
    header = lines[0].replace("RF size", "RF_size").split()
    return [dict(zip(header, line.split(), strict=True)) for line in lines[1:]]


def test_rf_alexnet_prints_every_layer_down_to_pool5(capsys):
    assert main(["rf", "alexnet"]) == 0
    rows = _table(capsys.readouterr().out)
    assert [r["layer"] for r in rows] == [
        "conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5",
    ]
    assert rows[0] == {"layer": "conv1", "kind": "conv2d", "kernel": "11", "stride": "4",
                       "padding": "0", "dilation": "1", "output": "54", "jump": "4",
                       "RF_size": "11", "start": "5"}
    assert (rows[-1]["output"], rows[-1]["jump"], rows[-1]["RF_size"]) == ("5", "32", "195")


def test_rf_reads_a_json_file_of_non_square_layers(tmp_path, capsys):
    path = tmp_path / "layers.json"
    path.write_text(json.dumps({
        "layers": [{"kind": "conv2d", "kernel_size": [3, 5], "stride": 2},
                   {"name": "b", "kind": "conv2d", "kernel_size": [3, 1], "stride": 2}],
        "input_size": [32, 48],
    }))
    assert main(["rf", str(path)]) == 0
    last = _table(capsys.readouterr().out)[-1]
    assert (last["layer"], last["RF_size"], last["jump"], last["output"]) == (
        "b", "7x5", "4", "7x11"
    )
    assert main(["rf", str(path), "--input-size", "64"]) == 0
    assert _table(capsys.readouterr().out)[-1]["output"] == "15"


def test_rf_errors_exit_2_with_the_reason(tmp_path, capsys):
    assert main(["rf", "resnet"]) == 2
    assert "unknown preset 'resnet'" in capsys.readouterr().err
    assert main(["rf", "alexnet", "--input-size", "40"]) == 2
    assert "layer 7 (pool5): output size 0x0" in capsys.readouterr().err
    assert main(["rf", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"kind": "conv2d", "kernel_size": 3}]))
    assert main(["rf", str(bad)]) == 2
    assert "input_size" in capsys.readouterr().err
