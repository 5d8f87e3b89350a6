"""Comparing floats that went through BLAS (matmul, tensordot, einsum) on any CPU.

BLAS kernels differ by CPU (OpenBLAS picks one at run time; OPENBLAS_CORETYPE overrides it) and
by thread count and matrix shape, and each sums in its own order. So two computations of the
same trace agree to rounding, not to the bit. Exact comparisons are kept only where no BLAS is
involved, or where the results are small integers that every summation order gives exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

# float32 traces of lenet5 computed under two OpenBLAS kernels (SkylakeX against Haswell and
# Sandybridge, 20 digits, every layer's output, delta and weight gradient) differed by at most
# 4.0e-6 of the array's largest magnitude; a real bug (another target, layer or weight) moves
# values by the order of that magnitude itself.
FLOAT32_REL = 1e-4
# float64: the same sums in another order differ by a few ulps (about 1e-16 relative).
FLOAT64_REL = 1e-12


def assert_equal_up_to_rounding(got, want, rel: float | None = None, err_msg: str = "") -> None:
    """`got` equals `want` except for rounding: |got - want| <= rel * max|want| everywhere
    (judged against the array's scale, so entries that cancel to nearly 0 do not demand an
    impossible relative precision). `rel` defaults to FLOAT32_REL or FLOAT64_REL by dtype."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{err_msg} shape {got.shape} != {want.shape}"
    if rel is None:
        rel = FLOAT64_REL if np.result_type(got, want) == np.float64 else FLOAT32_REL
    scale = float(np.abs(want).max()) if want.size else 0.0
    np.testing.assert_allclose(got, want, rtol=0, atol=rel * scale, err_msg=err_msg)


def assert_json_equal_up_to_rounding(got, want, path: str = "$") -> None:
    """Two JSON bodies of the inspect API agree: the same keys, strings, integers and shapes,
    tensors (`{"shape", "data", ...}`) and float lists equal up to rounding at their own scale,
    a tensor's min and max up to rounding at the tensor's scale, other floats to 1e-4."""
    from app.services.encoding import decode_tensor  # only the API's tests need it

    if isinstance(want, dict) and {"shape", "data"} <= want.keys():
        assert isinstance(got, dict) and got.keys() == want.keys(), path
        a, b = decode_tensor(got), decode_tensor(want)
        assert_equal_up_to_rounding(a, b, err_msg=path)
        scale = float(np.abs(b).max()) if b.size else 0.0
        for key in want.keys() - {"data"}:
            if isinstance(want[key], float):
                assert abs(got[key] - want[key]) <= FLOAT32_REL * scale, f"{path}.{key}"
            else:
                assert got[key] == want[key], f"{path}.{key}"
    elif isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), path
        for key in want:
            assert_json_equal_up_to_rounding(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list) and want and all(isinstance(v, float) for v in want):
        assert_equal_up_to_rounding(np.asarray(got, np.float64), np.asarray(want, np.float64),
                                    rel=FLOAT32_REL, err_msg=path)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            assert_json_equal_up_to_rounding(a, b, f"{path}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=FLOAT32_REL, abs=1e-12), path
    else:
        assert got == want, path
