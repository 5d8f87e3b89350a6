"""Against a real uvicorn on 127.0.0.1 (tests.security.live): a bug's 500 keeps the
connection, abandoned jobs are dropped, and held-open connections are closed. Each test is
bounded in requests and seconds (client socket timeouts; server deadlines set to 1 s)."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest

from tests.security.live import live_server

pytestmark = pytest.mark.slow

INSPECT = "/api/v1/models/lenet5/inspect"
SAMPLE = json.dumps({"sample": 0, "include": []}).encode()


def raw_request(body: bytes = SAMPLE, path: str = INSPECT) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; socket.timeout if it never does."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_an_unexpected_error_is_a_json_500_logged_with_its_id_and_the_connection_survives():
    with live_server(fault="raise") as server:
        conn = server.connection()
        conn.request("POST", INSPECT, body=SAMPLE, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        body = json.loads(response.read())
        request_id = response.getheader("X-Request-ID")
        assert response.status == 500
        assert body == {"error": {
            "code": "internal_error", "message": body["error"]["message"],
            "request_id": request_id,
        }}
        assert "injected failure" not in body["error"]["message"]  # no internals leak
        assert conn.sock is not None, "the server closed the kept-alive connection"
        local = conn.sock.getsockname()
        conn.request("GET", "/healthz")
        again = conn.getresponse()
        assert again.status == 200 and json.loads(again.read()) == {"status": "ok"}
        assert conn.sock.getsockname() == local  # the same connection answered
        conn.close()
        log = server.log()
    assert request_id and re.search(rf"request id {request_id}.*\n(.*\n)*Traceback", log)
    assert "RuntimeError: injected failure" in log


def test_jobs_of_clients_that_disconnect_are_dropped_and_real_users_wait_only_for_one():
    bombs = 5
    env = {"CONVSCOPE_THREADS": "1", "CONVSCOPE_QUEUE_SIZE": "16"}
    with live_server(env, fault="sleep:3") as server:
        sockets = [server.socket() for _ in range(bombs + 1)]
        for sock in sockets:
            sock.sendall(raw_request())
        time.sleep(1.5)  # one job runs (sleeping 3 s), the others wait in the queue
        for sock in sockets:
            sock.close()
        conn = server.connection(timeout=30)
        conn.request("POST", INSPECT, body=SAMPLE, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["model"] == "lenet5"
        conn.close()
        time.sleep(0.2)
        log = server.log()
    assert log.count("queued job dropped") == bombs
    assert log.count("running job's result discarded") == 1
    assert "Traceback" not in log  # a client leaving is not an error


def test_a_client_that_leaves_before_its_body_arrives_is_not_an_error():
    with live_server() as server:
        with server.socket() as sock:
            request = raw_request(b'{"sample": 0, "include": []}' + b" " * 1000)
            sock.sendall(request[:-500])
            time.sleep(0.3)
        conn = server.connection()
        conn.request("GET", "/healthz")
        assert conn.getresponse().status == 200
        conn.close()
        time.sleep(0.2)
        log = server.log()
    assert "Traceback" not in log and "unhandled error" not in log


HELD_OPEN = {
    "CONVSCOPE_HEADER_TIMEOUT": "1", "CONVSCOPE_BODY_TIMEOUT": "1",
    "CONVSCOPE_KEEP_ALIVE_TIMEOUT": "1",
}


@pytest.fixture(scope="module")
def strict_server():
    with live_server(HELD_OPEN) as server:
        yield server


@pytest.mark.parametrize(
    "sent",
    [b"", b"POST /api/v1/models/lenet5/inspect HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"GE"],
    ids=["nothing", "half-the-headers", "half-the-request-line"],
)
def test_a_connection_that_never_completes_its_headers_is_closed(strict_server, sent):
    with strict_server.socket(timeout=10) as sock:
        sock.sendall(sent)
        assert read_until_closed(sock) == b""  # closed without a word, well before 10 s


def test_a_body_that_trickles_in_gets_408_and_the_connection_is_closed(strict_server):
    body = b'{"sample": 0, "include": []}' + b" " * 100
    with strict_server.socket(timeout=10) as sock:
        sock.sendall(raw_request(body)[: -len(body)])
        for byte in body[:8]:  # keeps sending, slower than the deadline allows
            sock.sendall(bytes([byte]))
            time.sleep(0.2)
        answer = read_until_closed(sock)
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(payload)["error"]["code"] == "request_timeout"


def test_an_idle_kept_alive_connection_is_closed_after_a_response(strict_server):
    with strict_server.socket(timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b'{"status":"ok"}')
