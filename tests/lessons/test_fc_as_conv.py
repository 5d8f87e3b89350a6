"""A fully connected layer as a convolution: the converted network computes the same numbers
(to float precision), and slid over a larger canvas it gives a map of predictions."""

from __future__ import annotations

import numpy as np
import pytest

from app.data import load_digits
from app.lessons.fc_as_conv import (
    compare_on_input,
    conversion_table,
    fully_convolutional,
    linear_as_conv,
    prediction_map,
    window_means,
)
from app.models import load_model
from app.nn import Conv2d, Flatten, Linear, ReLU, Sequential

# float32 through two different BLAS paths (a matmul on the flattened vector, and im2col +
# matmul): equal up to rounding, ~1e-6 relative; a wrong reshape is off by O(1).
RTOL, ATOL = 1e-5, 1e-5


@pytest.fixture(scope="module")
def lenet():
    return load_model("lenet5")


@pytest.fixture(scope="module")
def digits():
    images, labels = load_digits()
    return images[:8], labels[:8]


def test_linear_as_conv_reads_the_flattened_map_in_channel_row_column_order():
    rng = np.random.default_rng(0)
    linear = Linear(3 * 4 * 2, 5, rng=rng, dtype=np.float64)
    conv = linear_as_conv(linear, (3, 4, 2))
    assert conv.params["weight"].shape == (5, 3, 4, 2)
    x = rng.standard_normal((6, 3, 4, 2))
    y_conv, _ = conv.forward(x)
    y_linear, _ = linear.forward(x.reshape(6, -1))
    assert y_conv.shape == (6, 5, 1, 1)
    np.testing.assert_allclose(y_conv[:, :, 0, 0], y_linear, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="reads 24"):
        linear_as_conv(linear, (3, 4, 3))


def test_lenet5_fc1_is_120_kernels_of_5x5x16_and_fc2_fc3_are_1x1(lenet):
    rows = conversion_table(lenet.network, (1, 28, 28))
    assert [r["name"] for r in rows] == ["fc1", "fc2", "fc3"]
    assert rows[0]["conv_weight"] == [120, 16, 5, 5]
    assert rows[0]["kernels"] == "120 kernels of 5x5x16"
    assert rows[0]["input"] == [16, 5, 5] and rows[0]["output"] == [120, 1, 1]
    assert rows[1]["conv_weight"] == [84, 120, 1, 1]
    assert rows[2]["conv_weight"] == [10, 84, 1, 1]
    converted = fully_convolutional(lenet.network, (1, 28, 28))
    assert not any(isinstance(layer, (Flatten, Linear)) for layer in converted.layers)
    fc1 = converted.layers[converted.names.index("fc1")]
    np.testing.assert_array_equal(
        fc1.params["weight"][7], lenet.network.layers[lenet.network.names.index("fc1")]
        .params["weight"][7].reshape(16, 5, 5),
    )


@pytest.mark.parametrize("model_id", ["lenet5", "lenet5-classic"])
def test_converted_network_gives_the_same_logits_on_28x28(model_id, digits):
    model = load_model(model_id)
    x = model.prepare(digits[0])
    logits = model.network.predict(x)
    converted = fully_convolutional(model.network, model.input_shape)
    out = converted.predict(x)
    assert out.shape == (len(x), 10, 1, 1)
    scale = np.abs(logits).max()
    np.testing.assert_allclose(out[:, :, 0, 0], logits, rtol=RTOL, atol=ATOL * scale)
    np.testing.assert_array_equal(out[:, :, 0, 0].argmax(1), logits.argmax(1))


def test_fc1_as_matrix_and_as_convolution_agree_on_every_unit(lenet, digits):
    result = compare_on_input(lenet.network, lenet.prepare(digits[0][:1]))
    assert result.feature_map.shape == (16, 5, 5)
    assert result.linear_output.shape == result.conv_output.shape == (120,)
    scale = np.abs(result.linear_output).max()
    np.testing.assert_allclose(result.conv_output, result.linear_output, rtol=RTOL,
                               atol=ATOL * scale)
    np.testing.assert_allclose(result.logits_conv, result.logits_linear, rtol=RTOL,
                               atol=ATOL * np.abs(result.logits_linear).max())
    fc1 = lenet.network.layers[lenet.network.names.index("fc1")]
    unit = 17
    by_hand = (result.feature_map.astype(np.float64)
               * fc1.params["weight"][unit].reshape(16, 5, 5)).sum() + fc1.params["bias"][unit]
    assert by_hand == pytest.approx(float(result.conv_output[unit]), rel=1e-5, abs=1e-5)


def test_a_56x84_canvas_gives_an_8x15_map_with_stride_4_and_a_32_pixel_field(lenet, digits):
    canvas = np.zeros((1, 1, 56, 84), np.float32)
    result = prediction_map(lenet.network, lenet.input_shape, canvas)
    assert (result["rows"], result["cols"]) == (8, 15)
    assert result["receptive_field"]["jump"] == [4, 4]
    assert result["receptive_field"]["size"] == [32, 32]
    assert result["receptive_field"]["padding"] == [2, 2]
    np.testing.assert_allclose(result["probabilities"].sum(-1), 1.0, rtol=1e-9)


def test_each_map_position_is_the_28x28_network_on_its_crop_when_the_margin_is_blank(
    lenet, digits
):
    """Output (i, j) reads canvas rows 4i-2 .. 4i+29: the 28x28 crop at (4i, 4j) plus the
    2-pixel border the small network pads with zeros. With that border blank, the map's
    probabilities there are the small network's on the crop."""
    images, _ = digits
    canvas = np.zeros((1, 1, 56, 84), np.float32)
    canvas[0, 0, :28, :28] = images[0] / 255.0
    canvas[0, 0, 28:, 56:] = images[1] / 255.0
    result = prediction_map(lenet.network, lenet.input_shape, canvas)
    for (i, j), image in (((0, 0), images[0]), ((7, 14), images[1])):
        expected = lenet.predict(image[None])[0]
        np.testing.assert_allclose(result["probabilities"][i, j], expected, rtol=1e-4,
                                   atol=1e-5)
        assert result["prediction"][i, j] == expected.argmax()
    np.testing.assert_allclose(result["ink"][0, 0], images[0].mean() / 255.0, rtol=1e-6)
    assert result["ink"][7, 0] == 0.0


def test_window_means_match_a_loop():
    rng = np.random.default_rng(1)
    plane = rng.uniform(size=(13, 17))
    means = window_means(plane, (5, 4), (2, 3), (4, 5))
    for i in range(4):
        for j in range(5):
            assert means[i, j] == pytest.approx(plane[2 * i:2 * i + 5, 3 * j:3 * j + 4].sum() / 20)


def test_a_linear_before_any_flatten_cannot_be_converted():
    with pytest.raises(ValueError, match="before any flatten"):
        fully_convolutional(Sequential([Linear(4, 2)]), (1, 2, 2))
    net = Sequential([Conv2d(1, 2, 3), ReLU(), Flatten(), Linear(2 * 2 * 2, 3)])
    assert fully_convolutional(net, (1, 4, 4)).predict(np.zeros((1, 1, 4, 4), np.float32)
                                                       ).shape == (1, 3, 1, 1)


def test_upload_to_canvas_inverts_light_paper_and_shrinks_by_a_whole_factor():
    from app.lessons.fc_as_conv import upload_to_canvas

    paper = np.full((60, 600), 250, np.uint8)
    paper[12:18, 9:12] = 0  # a dark stroke covering whole 3x3 blocks
    canvas = upload_to_canvas(paper, 256)
    assert canvas.shape == (20, 200)  # factor 3: 600 / 3 = 200 <= 256
    assert canvas[0, 100] == 5 and canvas[4, 3] == 255
    dark = np.zeros((40, 40), np.uint8)
    np.testing.assert_array_equal(upload_to_canvas(dark, 256), dark)
