"""Every response carries a request id and nosniff; HTML pages carry the Content-Security-
Policy, frame and referrer headers; an unexpected exception is a JSON 500, logged with its
traceback and request id, and the client's next request is answered."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from app.api.middleware import CONTENT_SECURITY_POLICY
from app.main import create_app

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
INSPECT = "/api/v1/models/lenet5/inspect"


def test_the_policy_is_exactly_the_agreed_one():
    assert CONTENT_SECURITY_POLICY == CSP


@pytest.mark.parametrize("path", ["/", "/receptive-field", "/conv-arithmetic", "/docs", "/redoc"])
def test_every_html_page_gets_the_csp_and_its_companions(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("GET", "/healthz", 200), ("GET", "/api/v1/models", 200), ("GET", "/openapi.json", 200),
        ("GET", "/api/v1/nope", 404), ("POST", INSPECT, 415), ("GET", INSPECT, 405),
    ],
)
def test_api_responses_get_nosniff_and_a_request_id_but_no_page_policy(client, method, path,
                                                                        status):
    response = client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert len(response.headers["x-request-id"]) == 32
    assert "content-security-policy" not in response.headers


def test_static_files_get_nosniff(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"


def test_each_request_gets_its_own_id_and_a_plain_client_id_is_kept(client):
    a, b = client.get("/healthz"), client.get("/healthz")
    assert a.headers["x-request-id"] != b.headers["x-request-id"]
    kept = client.get("/healthz", headers={"X-Request-ID": "trace-42.a_b"})
    assert kept.headers["x-request-id"] == "trace-42.a_b"
    odd = client.get("/healthz", headers={"X-Request-ID": "<script>" + "x" * 100})
    assert odd.headers["x-request-id"] != "<script>" + "x" * 100
    assert len(odd.headers["x-request-id"]) == 32


def test_an_unexpected_exception_is_a_json_500_logged_with_its_id_and_the_next_request_works(
    monkeypatch, caplog
):
    import app.api.inspect as inspect_router

    def broken(*args, **kwargs):
        raise ZeroDivisionError("injected")

    monkeypatch.setattr(inspect_router, "inspect_image", broken)
    with TestClient(create_app()) as client, caplog.at_level(logging.ERROR, "convscope"):
        response = client.post(INSPECT, json={"sample": 0})
        request_id = response.headers["x-request-id"]
        assert response.status_code == 500
        assert response.json() == {"error": {
            "code": "internal_error", "message": response.json()["error"]["message"],
            "request_id": request_id,
        }}
        assert "injected" not in response.text
        monkeypatch.undo()
        assert client.post(INSPECT, json={"sample": 0, "include": []}).status_code == 200
    record = next(r for r in caplog.records if request_id in r.getMessage())
    assert record.exc_info and record.exc_info[0] is ZeroDivisionError
