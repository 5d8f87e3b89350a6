"""app.nn.functional.set_num_threads: batch chunks of a convolution on a thread pool give the
same trace as one thread, and bad thread counts are refused."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import Conv2d, MaxPool2d, ReLU, Sequential
from app.nn import functional as F
from tests.floats import assert_equal_up_to_rounding


@pytest.fixture
def two_threads():
    F.set_num_threads(2)
    yield
    F.set_num_threads(1)


def net() -> Sequential:
    rng = np.random.default_rng(0)
    return Sequential([
        Conv2d(3, 8, 3, rng=rng, dtype=np.float64), ReLU(), MaxPool2d(2),
        Conv2d(8, 4, 3, padding=1, rng=rng, dtype=np.float64),  # gather input gradient
        Conv2d(4, 6, 3, stride=2, rng=rng, dtype=np.float64),  # scatter input gradient
    ])


def test_two_threads_give_the_one_thread_trace(two_threads):
    network = net()
    # 40 items of 3x34x34: many more than one cache-sized chunk, so the pool splits them.
    x = np.random.default_rng(1).standard_normal((40, 3, 34, 34))
    assert len(F.batch_chunks(40, 27 * 32 * 32 * 8)) > 2
    y2, caches2 = network.forward(x)
    dx2, grads2 = network.backward(np.ones_like(y2), caches2)
    F.set_num_threads(1)
    y1, caches1 = network.forward(x)
    dx1, grads1 = network.backward(np.ones_like(y1), caches1)
    # Each chunk makes its own BLAS calls: equal up to float64 rounding on any CPU's kernel.
    assert_equal_up_to_rounding(y2, y1)
    assert_equal_up_to_rounding(dx2, dx1)
    for g2, g1 in zip(grads2, grads1, strict=True):
        for key in g1:
            assert_equal_up_to_rounding(g2[key], g1[key])


def test_thread_count_is_reported_and_bad_counts_are_refused(two_threads):
    assert F.get_num_threads() == 2
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="threads"):
            F.set_num_threads(bad)
    assert F.get_num_threads() == 2


@pytest.mark.parametrize("groups", [2, 8])
def test_grouped_conv_on_two_threads_gives_the_one_thread_result(two_threads, groups):
    layer = Conv2d(8, 8, 3, padding=1, groups=groups, rng=0, dtype=np.float64)
    x = np.random.default_rng(2).standard_normal((40, 8, 20, 20))
    y2, cache2 = layer.forward(x)
    dx2, grads2 = layer.backward(y2, cache2)
    F.set_num_threads(1)
    y1, cache1 = layer.forward(x)
    dx1, grads1 = layer.backward(y1, cache1)
    np.testing.assert_allclose(y2, y1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx2, dx1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads2["weight"], grads1["weight"], rtol=1e-10)
