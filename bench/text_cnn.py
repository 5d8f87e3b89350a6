"""Time the text CNN lesson: the service (forward + backward + encoding of one string) and the
whole HTTP call, at a short, the training (24) and the longest (64) length.

    python -m bench.text_cnn              # prints a markdown table; about 5 s
    python -m bench.text_cnn --budget 2   # seconds per row

Not part of `python -m bench`'s sections: run it on its own. Nothing is asserted.
"""

from __future__ import annotations

import argparse

from threadpoolctl import threadpool_limits

from bench.timing import measure

TEXTS = {8: "ggbadhec", 24: "abcdefgh" * 2 + "gcafebdd", 64: "abcdefgh" * 7 + "hgabbadc"}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.text_cnn")
    parser.add_argument("--budget", type=float, default=0.5)
    args = parser.parse_args(argv)

    from fastapi.testclient import TestClient

    from app.lessons.text_cnn import inspect_text
    from app.main import create_app
    from app.models.text_cnn import load_text_model

    load_text_model()
    rows = []
    with threadpool_limits(limits=1, user_api="blas"), TestClient(create_app()) as client:
        for length, text in TEXTS.items():
            assert len(text) == length
            service = measure(lambda t=text: inspect_text(t), args.budget)
            http = measure(
                lambda t=text: client.post("/api/v1/lessons/text-cnn/inspect", json={"text": t}),
                args.budget,
            )
            rows.append((length, service, http))
    print("| letters | service median ms (min-max) | HTTP median ms (min-max) |")
    print("| --- | --- | --- |")
    for length, service, http in rows:
        print(f"| {length} | {service.median_ms:.2f} ({service.min_ms:.2f}-{service.max_ms:.2f}) "
              f"| {http.median_ms:.2f} ({http.min_ms:.2f}-{http.max_ms:.2f}) |")


if __name__ == "__main__":
    main()
