"""The inspect response is gzip-compressed for clients that accept it (browsers do)."""

from __future__ import annotations

import gzip
import json

import pytest

SAMPLE = {"sample": 3}


def _post(client, accept_encoding: str):
    # Stream, so httpx hands back the bytes as sent rather than decoding them.
    with client.stream(
        "POST", "/api/v1/models/lenet5/inspect", json=SAMPLE,
        headers={"Accept-Encoding": accept_encoding},
    ) as response:
        raw = b"".join(response.iter_raw())
        return response, raw


def test_gzip_response_decodes_to_the_plain_response(client):
    plain, plain_bytes = _post(client, "identity")
    packed, packed_bytes = _post(client, "gzip, deflate, br")
    assert plain.status_code == packed.status_code == 200
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    a, b = json.loads(plain_bytes), json.loads(gzip.decompress(packed_bytes))
    a.pop("timings_ms"), b.pop("timings_ms")
    assert a == b


def test_default_inspect_response_is_under_150_kb_on_the_wire(client):
    _, packed_bytes = _post(client, "gzip")
    assert len(packed_bytes) <= 150 * 1024, len(packed_bytes)


@pytest.mark.parametrize("header", ["gzip;q=0", "br", ""])
def test_gzip_is_not_sent_to_clients_that_refuse_it(client, header):
    response, raw = _post(client, header)
    assert "content-encoding" not in response.headers
    assert json.loads(raw)["model"] == "lenet5"
