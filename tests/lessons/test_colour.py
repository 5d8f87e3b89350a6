"""Channels in colour: three per-channel correlations plus the bias equal the core's
3-channel convolution; the dataset is seeded and balanced; the RGB model's card is true."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.data.colour_shapes import CLASSES, colour_split, load_colour_shapes
from app.lessons.colour import channel_correlations, classic_example, gallery, model_example
from app.models.colour_training import load_colour_cnn, prepared

ROOT = Path(__file__).resolve().parents[2]


def test_the_classic_example_is_6x6x3_times_3x3x3_into_4x4_by_hand():
    image, kernel, bias = classic_example(0)
    assert image.shape == (3, 6, 6) and kernel.shape == (3, 3, 3) and bias == 1.0
    r = channel_correlations(image, kernel, bias)
    assert r["per_channel"].shape == (3, 4, 4)
    by_hand = sum((image[c, 1:4, 2:5] * kernel[c]).sum() for c in range(3)) + bias
    assert r["output"][1, 2] == pytest.approx(by_hand, abs=1e-9)
    np.testing.assert_allclose(r["output"], r["core_output"], atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), channels=st.integers(1, 4), k=st.integers(1, 4),
       size=st.integers(4, 9), padding=st.integers(0, 2))
def test_per_channel_correlations_plus_bias_are_the_core_convolution(seed, channels, k, size,
                                                                     padding):
    rng = np.random.default_rng(seed)
    image = rng.standard_normal((channels, size, size))
    kernel = rng.standard_normal((channels, k, k))
    r = channel_correlations(image, kernel, 0.5, padding)
    np.testing.assert_allclose(r["sum"], r["per_channel"].sum(0))
    np.testing.assert_allclose(r["output"], r["core_output"], rtol=1e-10, atol=1e-10)


def test_the_dataset_is_balanced_seeded_and_regenerates_byte_for_byte():
    images, labels = load_colour_shapes()
    assert images.shape == (2250, 3, 20, 20) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [250] * 9
    train, heldout = colour_split()
    assert len(train) == 1800 and len(heldout) == 450 and not set(train) & set(heldout)
    assert np.bincount(labels[heldout]).tolist() == [50] * 9
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts/make_colour_shapes.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    again, again_labels = gen.make()
    np.testing.assert_array_equal(again, images)
    np.testing.assert_array_equal(again_labels, labels)


def test_the_rgb_model_reproduces_its_cards_heldout_accuracy():
    network, card = load_colour_cnn()
    images, labels = prepared()
    _, heldout = colour_split()
    predicted = network.predict(images[heldout]).argmax(axis=1)
    correct = int((predicted == labels[heldout]).sum())
    assert correct == card["heldout"]["correct"] and card["heldout"]["total"] == 450
    assert card["heldout"]["accuracy"] >= 0.9
    assert card["classes"] == list(CLASSES) and card["input_shape"] == [3, 20, 20]


def test_the_models_conv1_unit_is_three_correlations_plus_its_bias():
    r = model_example(5, 2)
    assert r["per_channel"].shape == (3, 20, 20)
    np.testing.assert_allclose(r["output"], r["core_output"], atol=1e-9)
    network, _ = load_colour_cnn()
    x = r["image"][None].astype(np.float32)
    conv1 = network.layers[0].forward(x)[0][0, 2]
    np.testing.assert_allclose(r["output"], conv1, rtol=1e-5, atol=1e-5)
    with pytest.raises(IndexError):
        model_example(0, 8)


def test_the_gallery_has_every_class():
    items = gallery(2)
    assert sorted(item["label"] for item in items) == sorted(list(range(9)) * 2)
