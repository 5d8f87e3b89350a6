"""The model store: content-addressed ids, idempotent puts, the card, loading, caps,
eviction by last use, path safety and concurrent puts of the same bytes."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.models import load_model
from app.nn import Conv2d, Flatten, Linear, ReLU, Sequential
from app.services.errors import ApiError
from app.services.model_store import ModelStore, is_model_id, set_model_store
from app.services.models import get_model
from tests.floats import assert_equal_up_to_rounding
from tests.importers.test_onnx_models import lenet, resnet


def lenet_bytes(seed: int = 0) -> bytes:
    net, out = lenet()
    model = net.model(out)
    if seed:
        model.producer_version = f"seed {seed}"  # other bytes, same network
    return model.SerializeToString()


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path / "models")


def test_put_onnx_id_is_the_sha256_prefix_and_a_second_put_returns_the_same_card(store):
    import hashlib

    data = lenet_bytes()
    card = store.put_onnx(data, name="my lenet")
    assert card["id"] == hashlib.sha256(data).hexdigest()[:16]
    assert card["sha256"] == hashlib.sha256(data).hexdigest()
    assert is_model_id(card["id"])
    again = store.put_onnx(data, name="another name")
    assert again == card
    assert [c["id"] for c in store.cards()] == [card["id"]]


def test_card_has_layer_table_shapes_parameters_receptive_fields_and_macs(store):
    card = store.put_onnx(lenet_bytes(), classes=[f"c{i}" for i in range(10)])
    assert card["source"] == "onnx"
    assert card["classes"][3] == "c3"
    assert card["input"]["shape"] == [1, 1, 28, 28]
    assert card["input"]["mean"] == [0.0] and card["input"]["std"] == [1.0]
    layers = {layer["name"]: layer for layer in card["layers"]}
    first = card["layers"][0]
    assert first["kind"] == "conv2d" and first["output_shape"] == [6, 28, 28]
    # conv 5x5, 1 -> 6 channels, 28x28 outputs: 6*25 weights per output position.
    assert first["macs"] == 6 * 1 * 5 * 5 * 28 * 28
    assert first["parameters"] == 6 * 25 + 6
    assert first["receptive_field"]["size"] == [5, 5]
    assert card["parameters"] == sum(layer["parameters"] for layer in layers.values())
    assert card["macs"] == sum(layer["macs"] for layer in layers.values())
    assert card["parameters"] == 61_706
    assert card["onnx"]["head"]["op"] == "Softmax"
    assert card["created"].endswith("Z")


def test_stored_model_loads_and_computes_what_the_importer_computes(store):
    from app.importers.onnx import import_onnx

    data = lenet_bytes()
    card = store.put_onnx(data)
    model = store.get(card["id"])
    assert model.id == card["id"] and model.input_shape == (1, 28, 28)
    assert model.classes == [str(i) for i in range(10)]
    graph, _ = import_onnx(data)
    x = np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32)
    assert_equal_up_to_rounding(model.network.predict(x), graph.predict(x))
    assert store.get(card["id"]) is model  # cached


def test_a_fresh_store_on_the_same_directory_finds_the_model(store):
    card = store.put_onnx(lenet_bytes())
    other = ModelStore(store.root)
    assert other.card(card["id"]) == card
    assert other.get(card["id"]).id == card["id"]


def test_put_network_round_trips_spec_and_weights_and_is_idempotent(store):
    net = Sequential([Conv2d(1, 2, 3, rng=0), ReLU(), Flatten(), Linear(2 * 26 * 26, 3, rng=1)])
    card = store.put_network(net, name="tiny", classes=["a", "b", "c"], input_shape=(1, 28, 28),
                             extra={"training_run": {"id": "run1"}})
    assert card["source"] == "training" and card["training_run"] == {"id": "run1"}
    assert store.put_network(net, name="tiny again", classes=["a", "b", "c"],
                             input_shape=(1, 28, 28)) == card
    model = ModelStore(store.root).get(card["id"])
    x = np.random.default_rng(2).random((1, 1, 28, 28), dtype=np.float32)
    assert_equal_up_to_rounding(model.network.predict(x), net.predict(x))
    assert model.classes == ["a", "b", "c"]


def test_put_network_with_other_weights_gets_another_id(store):
    a = Sequential([Flatten(), Linear(4, 2, rng=0)])
    b = Sequential([Flatten(), Linear(4, 2, rng=1)])
    ids = {store.put_network(n, name="n", classes=["x", "y"], input_shape=(1, 2, 2))["id"]
           for n in (a, b)}
    assert len(ids) == 2


def test_file_over_the_size_cap_is_a_413(tmp_path):
    store = ModelStore(tmp_path, max_bytes=1000)
    with pytest.raises(ApiError) as err:
        store.put_onnx(lenet_bytes())
    assert err.value.status == 413 and err.value.code == "model_too_large"
    assert store.cards() == []


@pytest.mark.parametrize("cap", ["max_parameters", "max_nodes"])
def test_parameter_and_node_caps_are_the_importers_422(tmp_path, cap):
    store = ModelStore(tmp_path, **{cap: 5})
    with pytest.raises(ApiError) as err:
        store.put_onnx(lenet_bytes())
    assert err.value.status == 422 and err.value.code == "model_too_large"
    assert err.value.details["limit"] == 5


def test_junk_bytes_are_a_422_invalid_model_and_nothing_is_written(store):
    with pytest.raises(ApiError) as err:
        store.put_onnx(b"not a model at all")
    assert err.value.status == 422 and err.value.code == "invalid_model"
    assert not store.root.exists() or list(store.root.iterdir()) == []


def test_wrong_number_of_classes_and_bad_input_spec_are_422(store):
    with pytest.raises(ApiError) as err:
        store.put_onnx(lenet_bytes(), classes=["a", "b"])
    assert err.value.code == "invalid_classes" and err.value.details["expected"] == 10
    with pytest.raises(ApiError) as err:
        store.put_onnx(lenet_bytes(), input_spec={"channels": 3})
    assert err.value.code == "invalid_input_spec"
    with pytest.raises(ApiError) as err:
        store.put_onnx(lenet_bytes(), input_spec={"std": [0]})
    assert err.value.code == "invalid_input_spec"


def test_input_spec_is_kept_with_per_channel_mean_and_std(store):
    net, out = resnet()
    card = store.put_onnx(net.model(out).SerializeToString(), input_spec={
        "channels": 3, "height": 16, "width": 16, "mean": [0.5, 0.4, 0.3], "std": 0.25,
        "colour_order": "bgr"})
    spec = card["input"]
    assert spec["channels"] == 3 and spec["height"] == 16 and spec["colour_order"] == "bgr"
    assert spec["mean"] == [0.5, 0.4, 0.3] and spec["std"] == [0.25] * 3


@pytest.mark.parametrize("bad", ["../../etc", "0123456789abcdeF", "0123456789abcdef/..",
                                 "", "lenet5", "0123456789abcde", "../" * 6, "\x00" * 16])
def test_malformed_ids_never_touch_the_disk(store, bad):
    assert store.get(bad) is None
    assert store.card(bad) is None
    assert store.delete(bad) is False


def test_delete_removes_the_model(store):
    card = store.put_onnx(lenet_bytes())
    store.get(card["id"])
    assert store.delete(card["id"]) is True
    assert store.get(card["id"]) is None and store.cards() == []
    assert store.delete(card["id"]) is False


def test_least_recently_used_models_are_evicted_past_the_byte_budget(tmp_path):
    clock = [1000.0]
    store = ModelStore(tmp_path, clock=lambda: clock[0])
    ids = []
    for seed in (1, 2, 3):
        clock[0] += 100
        ids.append(store.put_onnx(lenet_bytes(seed))["id"])
    one = store.nbytes(ids[0])
    clock[0] += 100
    assert store.get(ids[0]) is not None  # the oldest is now the most recently used
    store.budget_bytes = 3 * one + one // 2  # room for three, not four
    clock[0] += 100
    new = store.put_onnx(lenet_bytes(4))["id"]
    assert {c["id"] for c in store.cards()} == {ids[0], ids[2], new}
    assert store.nbytes() <= store.budget_bytes


def test_a_model_bigger_than_the_budget_is_kept_alone(tmp_path):
    store = ModelStore(tmp_path, budget_bytes=10)
    first = store.put_onnx(lenet_bytes(1))["id"]
    second = store.put_onnx(lenet_bytes(2))["id"]
    assert [c["id"] for c in store.cards()] == [second]
    assert store.get(first) is None


def test_concurrent_puts_of_the_same_bytes_store_one_model(store):
    data = lenet_bytes()
    cards, errors = [], []

    def put():
        try:
            cards.append(store.put_onnx(data))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({json.dumps(c, sort_keys=True) for c in cards}) == 1
    assert [p.name for p in store.root.iterdir()] == [cards[0]["id"]]


def test_get_model_finds_stored_models_and_still_404s_unknown_ids(store):
    card = store.put_onnx(lenet_bytes())
    set_model_store(store)
    try:
        assert get_model(card["id"]).card["sha256"] == card["sha256"]
        with pytest.raises(ApiError) as err:
            get_model("0" * 16)
        assert err.value.status == 404
        assert get_model("lenet5") is load_model("lenet5")
    finally:
        set_model_store(None)


def test_an_unwritable_store_is_a_503_not_a_crash(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = ModelStore(blocker / "models")
    with pytest.raises(ApiError) as err:
        store.put_onnx(lenet_bytes())
    assert err.value.status == 503 and err.value.code == "model_store_unavailable"


def test_card_macs_of_lenet5_match_the_hand_count(store):
    lenet5 = load_model("lenet5")
    card = store.put_network(lenet5.network, name="lenet5 copy", classes=lenet5.classes,
                             input_shape=lenet5.input_shape)
    # conv1 28*28*6*(1*5*5), conv2 10*10*16*(6*5*5), fc 400*120 + 120*84 + 84*10
    assert card["macs"] == 117_600 + 240_000 + 48_000 + 10_080 + 840


def test_two_stores_on_one_directory_racing_the_same_bytes_keep_one_copy(tmp_path):
    replicas = [ModelStore(tmp_path), ModelStore(tmp_path)]
    data = lenet_bytes()
    cards = []
    threads = [threading.Thread(target=lambda s=s: cards.append(s.put_onnx(data)))
               for s in replicas * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cards) == 4 and len({c["created"] for c in cards}) == 1
    assert [p.name for p in tmp_path.iterdir()] == [cards[0]["id"]]
    assert all(s.get(cards[0]["id"]) is not None for s in replicas)


def test_loaded_models_in_memory_are_bounded_by_their_parameter_bytes(tmp_path):
    store = ModelStore(tmp_path, cache_bytes=4 * 61_706)  # room for one LeNet
    ids = [store.put_onnx(lenet_bytes(seed))["id"] for seed in (1, 2, 3)]
    for model_id in ids:
        store.get(model_id)
    assert list(store._cache) == [ids[-1]]
    assert store._cached_bytes == 4 * 61_706


@settings(max_examples=200, deadline=None)
@given(model_id=st.one_of(st.text(max_size=40), st.from_regex(r"[0-9a-fA-F./\\]{14,18}")))
def test_any_string_that_is_not_a_stored_id_reads_nothing(tmp_path_factory, model_id):
    root = tmp_path_factory.mktemp("ids")
    (root.parent / "card.json").write_text("{}")  # a card just outside the store
    store = ModelStore(root / "models")
    assert store.get(model_id) is None and store.card(model_id) is None
    assert store.delete(model_id) is False
    assert (root.parent / "card.json").exists()


def test_concurrent_first_gets_load_the_model_once(tmp_path, monkeypatch):
    card = ModelStore(tmp_path).put_onnx(lenet_bytes())
    store = ModelStore(tmp_path)  # a fresh process: nothing loaded
    loads = []
    real = store._load

    def counting(model_id, card):
        loads.append(model_id)
        return real(model_id, card)

    monkeypatch.setattr(store, "_load", counting)
    models = []
    threads = [threading.Thread(target=lambda: models.append(store.get(card["id"])))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == [card["id"]] and len({id(m) for m in models}) == 1
