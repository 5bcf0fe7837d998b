import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from zipkit.kernels import argmin_available, argmin_available_numpy, bottom_k, bottom_k_numpy

# Few distinct values, so ties are common and the position rule is exercised.
values = hnp.arrays(np.float64, st.integers(0, 300), elements=st.sampled_from([0.5, 1.0, 1.25, 2.0, 1e6]))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), vals=values)
def test_bottom_k_matches_numpy_twin(data, vals):
    mask = data.draw(hnp.arrays(np.bool_, len(vals)))
    k = data.draw(st.integers(0, len(vals) + 3))
    got = bottom_k(vals, mask, k)
    np.testing.assert_array_equal(got, bottom_k_numpy(vals, mask, k))
    # And against the definition: sort masked positions by (value, position).
    want = sorted(np.flatnonzero(mask).tolist(), key=lambda i: (vals[i], i))[:k]
    assert got.tolist() == want


@settings(max_examples=200, deadline=None)
@given(data=st.data(), vals=values)
def test_argmin_available_matches_numpy_twin(data, vals):
    taken = data.draw(hnp.arrays(np.bool_, len(vals)))
    got = argmin_available(vals, taken)
    assert got == argmin_available_numpy(vals, taken)
    free = [i for i in range(len(vals)) if not taken[i]]
    assert got == (min(free, key=lambda i: (vals[i], i)) if free else -1)


def test_bottom_k_float32_input():
    vals = np.array([3, 1, 2, 1], dtype=np.float32)
    assert bottom_k(vals, np.ones(4, bool), 3).tolist() == [1, 3, 2]


def test_bottom_k_refuses_nan():
    import pytest

    with pytest.raises(ValueError, match="NaN"):
        bottom_k(np.array([1.0, np.nan]), np.ones(2, bool), 1)
