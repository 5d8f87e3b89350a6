"""The convtranspose view's pure helpers (static/js/views/convtranspose.js) give the API's
numbers: overlap counts and summed copies of GET /api/v1/lessons/autoencoder/scatter, and the
autoencoder's own deconv1/deconv2 overlap counts (output_padding included), run with node."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.js.test_node_units import ROOT

SCRIPT = """
import { overlapCounts, partialSum } from './static/js/views/convtranspose.js';
const cases = JSON.parse(process.argv[2]);
const out = cases.map((c) => ({
  counts: overlapCounts(c.n, c.kernel_size, c.stride, c.padding, c.op || 0),
  sum: c.input ? partialSum(c.input, c.kernel, c.stride, c.padding) : null,
}));
console.log(JSON.stringify(out));
"""


def test_js_overlap_counts_and_sums_equal_the_apis(client, tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JS unit tests need it")
    cases = [client.get("/api/v1/lessons/autoencoder/scatter", params=q).json() for q in (
        {"n": 3, "kernel_size": 3, "stride": 2}, {"n": 4, "kernel_size": 4, "stride": 2,
                                                  "padding": 1},
        {"n": 5, "kernel_size": 5, "stride": 3, "padding": 2, "seed": 4},
        {"n": 2, "kernel_size": 1, "stride": 4})]
    model = [client.post("/api/v1/lessons/autoencoder/inspect",
                         json={"sample": 0, "layer": layer}).json()["scatter"]
             for layer in ("deconv1", "deconv2")]
    for s in model:
        cases.append({"n": s["input_side"], "kernel_size": s["kernel_size"],
                      "stride": s["stride"], "padding": s["padding"],
                      "op": s["output_side"] - ((s["input_side"] - 1) * s["stride"]
                                                - 2 * s["padding"] + s["kernel_size"]),
                      "overlap_counts": s["overlap_counts"]})
    script = tmp_path / "check.mjs"
    script.write_text(SCRIPT.replace("./static", (ROOT / "static").as_uri()))
    result = subprocess.run([node, str(script), json.dumps(cases)], capture_output=True,
                            text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    for case, answer in zip(cases, answers, strict=True):
        assert answer["counts"] == case["overlap_counts"], case
        if "output" in case:
            assert answer["sum"] == case["output"], case
