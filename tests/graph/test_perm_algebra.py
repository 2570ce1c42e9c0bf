"""The hand-written permutation algebra: index vectors s with (P x)[k] = x[s[k]]."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from igcv_deploy.graph.perm_algebra import (
    as_swap4d,
    block_structure,
    compose,
    digit_transpose,
    expand_blocks,
    inverse,
    is_identity,
    is_permutation,
    shuffle,
    source_runs,
)
from igcv_deploy.models.layers import shuffle_indices


def test_shuffle_worked_example():
    """shuffle(8, 2) views the channels as 2 x 4, transposes and flattens; its inverse is shuffle(8, 4)."""
    assert shuffle(8, 2).tolist() == [0, 4, 1, 5, 2, 6, 3, 7]
    assert inverse(shuffle(8, 2)).tolist() == [0, 2, 4, 6, 1, 3, 5, 7] == shuffle(8, 4).tolist()
    assert shuffle(24, 3).tolist() == shuffle_indices(24, 3)


def test_compose_applies_first_then_second():
    x = np.arange(100, 108)
    first, second = shuffle(8, 2), np.array([7, 0, 1, 2, 3, 4, 5, 6])
    assert np.array_equal(x[first][second], x[compose(first, second)])
    assert is_identity(compose(shuffle(12, 3), inverse(shuffle(12, 3))))
    assert is_identity(compose(shuffle(12, 3), shuffle(12, 4)))  # shuffle(C, g)^-1 = shuffle(C, C/g)


@settings(max_examples=40, deadline=None)
@given(radices=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data())
def test_every_digit_transpose_is_found(radices, data):
    axes = data.draw(st.permutations(range(len(radices))))
    perm = np.arange(int(np.prod(radices))).reshape(radices).transpose(axes).ravel()
    found_radices, found_axes = digit_transpose(perm)
    assert np.array_equal(np.arange(len(perm)).reshape(found_radices).transpose(found_axes).ravel(), perm)


def test_digit_transposes_among_all_permutations_of_six():
    found = [p for p in itertools.permutations(range(6)) if digit_transpose(p) is not None]
    assert sorted(found) == sorted([tuple(range(6)), tuple(shuffle(6, 2)), tuple(shuffle(6, 3))])
    assert digit_transpose([1, 0, 2, 3]) is None  # a digit transpose fixes channels 0 and C-1: no swap of 0 and 1


def test_swap4d_covers_shuffles_and_digit_rotations_only():
    assert as_swap4d(shuffle(8, 2)) == (1, 2, 4, 1)
    three_digits = np.arange(24).reshape(2, 3, 4)
    assert as_swap4d(three_digits.transpose(0, 2, 1).ravel()) == (2, 3, 4, 1)  # leading digit kept: outer
    assert as_swap4d(three_digits.transpose(1, 0, 2).ravel()) == (1, 2, 3, 4)  # trailing digit kept: inner
    assert as_swap4d(three_digits.transpose(2, 1, 0).ravel()) is None  # needs a 5-D transpose
    assert as_swap4d(np.arange(8)) is None
    for outer, rows, cols, inner in [(2, 3, 4, 1), (1, 2, 3, 4), (3, 2, 2, 2)]:
        perm = np.arange(outer * rows * cols * inner).reshape(outer, rows, cols, inner).transpose(0, 2, 1, 3).ravel()
        swap = as_swap4d(perm)
        assert np.array_equal(np.arange(len(perm)).reshape(swap).transpose(0, 2, 1, 3).ravel(), perm)


def test_shuffles_never_map_groups_to_groups():
    """shuffle(C, g), 1 < g < C, keeps contiguous blocks only for g' = 1 and g' = C: a g'-group conv next to it
    can absorb it only when dense (g' = 1) or depthwise (g' = C)."""
    for channels in (8, 12, 16, 24):
        for g in [d for d in range(2, channels) if channels % d == 0]:
            blocks = [
                b for b in range(1, channels + 1) if channels % b == 0 and block_structure(shuffle(channels, g), b)
            ]
            assert blocks == [1, channels]


def test_block_permutations():
    perm = expand_blocks([2, 0, 1], 4)
    block_perm, within = block_structure(perm, 3)
    assert block_perm.tolist() == [2, 0, 1] and (within == np.arange(4)).all()
    reorder_within = np.array([1, 0, 2, 3, 7, 6, 5, 4])
    assert block_structure(reorder_within, 2)[0].tolist() == [0, 1]


def test_source_runs_and_membership():
    assert source_runs([4, 5, 6, 0, 1, 2, 3, 7]) == [(4, 3), (0, 4), (7, 1)]
    assert is_permutation([2, 0, 1]) and not is_permutation([0, 0, 1])
