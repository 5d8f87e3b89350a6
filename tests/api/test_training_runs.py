"""/api/v1/training-runs end to end: real runs in their own processes, the event stream,
control, limits and the trained model in the store."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

SHORT = {"architecture": "lenet5", "epochs": 1, "train_examples": 640, "seed": 0}
LONG = {"architecture": "lenet5", "epochs": 5, "seed": 0}


def make_client(tmp_path: Path, **settings) -> TestClient:
    values = {"training_dir": tmp_path / "runs", "training_max_runs": 1, **settings}
    return TestClient(create_app(Settings(**values)))


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path) as c:
        yield c


def parse_sse(text: str) -> list[dict]:
    """The events of an SSE body: dicts with id, event, data (comments skipped)."""
    events = []
    for block in text.split("\n\n"):
        fields = {}
        for line in block.splitlines():
            if line.startswith(":") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key] = value.removeprefix(" ")
        if "data" in fields:
            events.append({"id": int(fields["id"]), "event": fields["event"],
                           "data": json.loads(fields["data"])})
    return events


def events_of(client, run_id, **kwargs) -> list[dict]:
    response = client.get(f"/api/v1/training-runs/{run_id}/events", **kwargs)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text)


def wait_for(client, run_id, predicate, timeout=60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/v1/training-runs/{run_id}").json()
        if predicate(run):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never got there: {run}")


def start(client, body) -> dict:
    response = client.post("/api/v1/training-runs", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_event_stream_has_ordered_ids_and_resumes_after_last_event_id(client):
    run = start(client, SHORT)
    assert run["status"] in ("queued", "running") and run["config"]["architecture"] == "lenet5"
    events = events_of(client, run["id"])
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    kinds = [e["event"] for e in events]
    assert kinds[0] == "status" and kinds[-1] == "end"
    assert {"step", "layers", "filters", "epoch"} <= set(kinds)
    steps = [e["data"]["step"] for e in events if e["event"] == "step"]
    assert steps == sorted(steps)
    end = events[-1]["data"]
    assert end["status"] == "done" and end["model_id"]
    # Reconnect after event 5: the header, then the query parameter for EventSource-less
    # clients; both resume with event 6 and give the same rest of the stream.
    resumed = events_of(client, run["id"], headers={"Last-Event-ID": "5"})
    assert resumed == events[5:]
    assert events_of(client, run["id"], params={"last_event_id": 5}) == events[5:]


def test_a_short_seeded_run_reaches_90_percent_heldout_and_its_model_can_be_inspected(
    tmp_path,
):
    with make_client(tmp_path) as client:
        run = start(client, {"architecture": "lenet5", "epochs": 2, "seed": 0,
                             "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9,
                                           "weight_decay": 0.0005}})
        run = wait_for(client, run["id"], lambda r: r["status"] not in
                       ("queued", "running"), timeout=120)
        assert run["status"] == "done", run
        assert [h["epoch"] for h in run["history"]] == [1, 2]
        assert run["history"][-1]["heldout_accuracy"] >= 0.90
        assert set(run["history"][0]) == {"epoch", "train_loss", "heldout_loss",
                                          "heldout_accuracy"}
        model = client.get(f"/api/v1/models/{run['model_id']}")
        assert model.status_code == 200, model.text
        card = model.json()["card"]
        assert card["training_run"]["id"] == run["id"]
        assert card["training_run"]["history"] == run["history"]
        assert run["lr_verdict"]["label"] == "good"


def test_a_huge_learning_rate_run_reports_diverged_with_the_step(client):
    run = start(client, {**SHORT, "train_examples": 2000,
                         "optimizer": {"name": "sgd", "lr": 100, "momentum": 0.9}})
    events = events_of(client, run["id"])
    run = client.get(f"/api/v1/training-runs/{run['id']}").json()
    assert run["status"] == "diverged"
    assert run["diverged_at_step"] >= 1 and run["model_id"] is None
    assert events[-1]["data"]["diverged_at_step"] == run["diverged_at_step"]
    assert run["lr_verdict"]["label"] == "diverging"


def test_pause_step_resume_and_stop(client):
    run = start(client, LONG)
    run_id = run["id"]
    wait_for(client, run_id, lambda r: r["progress"]["step"] >= 1)
    paused = client.post(f"/api/v1/training-runs/{run_id}/pause").json()
    assert paused["status"] == "paused"
    time.sleep(0.3)
    still = client.get(f"/api/v1/training-runs/{run_id}").json()["progress"]["step"]
    assert client.get(f"/api/v1/training-runs/{run_id}").json()["progress"]["step"] == still
    stepped = client.post(f"/api/v1/training-runs/{run_id}/step").json()
    assert stepped["status"] == "paused" and stepped["progress"]["step"] == still + 1
    assert client.post(f"/api/v1/training-runs/{run_id}/resume").json()["status"] == "running"
    wrong = client.post(f"/api/v1/training-runs/{run_id}/step")
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "not_paused"
    stopped = client.post(f"/api/v1/training-runs/{run_id}/stop").json()
    assert stopped["status"] == "stopped" and stopped["model_id"] is None
    assert "on request" in stopped["reason"]
    again = client.post(f"/api/v1/training-runs/{run_id}/resume")
    assert again.status_code == 409 and again.json()["error"]["code"] == "run_ended"


def test_a_burst_of_requests_gets_one_run_and_429s_with_retry_after(client):
    answers = []

    def post():
        answers.append(client.post("/api/v1/training-runs", json=LONG))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in answers)
    assert codes == [201, 429, 429, 429, 429, 429]
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.headers["Retry-After"] == "2"
    assert refused.json()["error"]["code"] == "too_many_runs"
    (started,) = [r.json() for r in answers if r.status_code == 201]
    client.post(f"/api/v1/training-runs/{started['id']}/stop")
    # Once it has ended, a new run may start.
    run = start(client, SHORT)
    client.post(f"/api/v1/training-runs/{run['id']}/stop")


def test_a_run_nobody_listens_to_is_stopped(tmp_path):
    with make_client(tmp_path, training_idle_seconds=1.0) as client:
        run = start(client, LONG)
        runs = client.app.state.training_runs
        deadline = time.monotonic() + 30
        while runs.get(run["id"], listening=False)["status"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        ended = runs.get(run["id"], listening=False)
        assert ended["status"] == "stopped" and "nobody listened" in ended["reason"]


def test_the_wall_clock_cap_stops_a_run(tmp_path):
    with make_client(tmp_path, training_max_seconds=1.5) as client:
        run = start(client, LONG)
        run = wait_for(client, run["id"], lambda r: r["status"] not in ("queued", "running"))
        assert run["status"] == "stopped" and "wall-clock limit of 1.5 s" in run["reason"]


def test_unknown_runs_are_404(client):
    for path in ("/api/v1/training-runs/0123456789abcdef", "/api/v1/training-runs/../x",
                 "/api/v1/training-runs/0123456789abcdef/events"):
        response = client.get(path)
        assert response.status_code == 404, path
    response = client.post("/api/v1/training-runs/nope/pause")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_check_gives_layer_shapes_and_parameter_count(client):
    response = client.post("/api/v1/training-runs/check", json={"architecture": [
        {"kind": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 5},
        {"kind": "relu"}, {"kind": "flatten"},
        {"kind": "linear", "in_features": 4 * 24 * 24, "out_features": 10}]})
    assert response.status_code == 200
    body = response.json()
    assert [layer["output_shape"] for layer in body["layers"]] == [
        [4, 24, 24], [4, 24, 24], [2304], [10]]
    assert body["parameters"] == 4 * 25 + 4 + 2304 * 10 + 10
    bad = client.post("/api/v1/training-runs/check", json={"architecture": [{"kind": "relu"}]})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "architecture"
    bundled = client.post("/api/v1/training-runs/check", json={"architecture": "lenet5"}).json()
    assert bundled["spec"][0]["kind"] == "conv2d" and bundled["parameters"] == 61706
    wrong = client.post("/api/v1/training-runs/check",
                        json={"architecture": "colour-cnn", "dataset": "digits"})
    assert wrong.status_code == 422 and "colour-shapes" in wrong.json()["error"]["message"]


def test_a_run_whose_process_dies_is_failed_with_the_reason_and_frees_its_slot(client):
    import os
    import signal

    run = start(client, LONG)
    wait_for(client, run["id"], lambda r: r["progress"]["step"] >= 1)
    runs = client.app.state.training_runs
    meta = json.loads((runs.root / run["id"] / "run.json").read_text())
    os.kill(meta["pid"], signal.SIGKILL)
    ended = wait_for(client, run["id"], lambda r: r["status"] not in ("running", "paused"))
    assert ended["status"] == "failed" and "ended unexpectedly" in ended["reason"]
    events = events_of(client, run["id"])
    assert events[-1]["event"] == "end" and events[-1]["data"]["status"] == "failed"
    client.post(f"/api/v1/training-runs/{start(client, SHORT)['id']}/stop")


def test_two_worker_processes_share_runs_and_the_limit(tmp_path):
    """Two apps on one training directory stand for two worker processes of one server."""
    with make_client(tmp_path) as first, make_client(tmp_path) as second:
        run = start(first, LONG)
        seen = second.get(f"/api/v1/training-runs/{run['id']}")
        assert seen.status_code == 200 and seen.json()["id"] == run["id"]
        refused = second.post("/api/v1/training-runs", json=SHORT)
        assert refused.status_code == 429
        stopped = second.post(f"/api/v1/training-runs/{run['id']}/stop").json()
        assert stopped["status"] == "stopped"
        assert first.get(f"/api/v1/training-runs/{run['id']}").json()["status"] == "stopped"
