"""Channel-permutation algebra, written by hand on index vectors.

A permutation is an int64 vector `s` of source indices: (P x)[k] = x[s[k]], the Gather convention.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def as_perm(perm) -> np.ndarray:
    return np.asarray(perm, dtype=np.int64)


def is_permutation(perm) -> bool:
    s = as_perm(perm)
    return s.ndim == 1 and np.array_equal(np.sort(s), np.arange(len(s)))


def compose(first, second) -> np.ndarray:
    """The single permutation equal to applying `first`, then `second`."""
    return as_perm(first)[as_perm(second)]


def inverse(perm) -> np.ndarray:
    return np.argsort(as_perm(perm)).astype(np.int64)


def is_identity(perm) -> bool:
    s = as_perm(perm)
    return np.array_equal(s, np.arange(len(s)))


def shuffle(channels: int, groups: int) -> np.ndarray:
    """The channel shuffle of ShuffleNet and IGCV (view C as g x C/g, transpose, flatten):
    out[k] = in[(k mod g)·(C/g) + ⌊k/g⌋]; its inverse is shuffle(C, C/g)."""
    k = np.arange(channels)
    return (k % groups) * (channels // groups) + k // groups


def digit_transpose(perm) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """Mixed-radix form of a permutation, with adjacent digits maximally merged: the permutation is a
    Reshape -> Transpose -> Reshape exactly when it rearranges the digits of the channel index.

    Returns (radices, axes) such that arange(C).reshape(radices).transpose(axes).ravel() == perm,
    or None when the permutation is not a digit transpose.
    """
    s = as_perm(perm)
    size = len(s)
    if size == 0 or s[0] != 0:
        return None
    if size == 1:
        return (1,), (0,)
    out_axes = []  # (input stride, length), innermost output axis first
    step = 1
    while step < size:
        stride, length = int(s[step]), 1
        while step * length < size and s[step * length] == length * stride:
            length += 1
        if size % (step * length):
            return None
        out_axes.append((stride, length))
        step *= length
    by_stride = sorted(range(len(out_axes)), key=lambda i: -out_axes[i][0])  # input order: outermost first
    radices = tuple(out_axes[i][1] for i in by_stride)
    axes = tuple(by_stride.index(i) for i in reversed(range(len(out_axes))))
    if np.array_equal(np.arange(size).reshape(radices).transpose(axes).ravel(), s):
        return radices, axes
    return None


class Swap4D(NamedTuple):
    """Channel index split as (outer, rows, cols, inner); the permutation swaps rows and cols."""

    outer: int
    rows: int
    cols: int
    inner: int


def as_swap4d(perm) -> Swap4D | None:
    """The permutation as one 4-D Transpose(0, 2, 1, 3) of a reshaped tensor, when it is one."""
    form = digit_transpose(perm)
    if form is None:
        return None
    radices, axes = form
    lead = int(axes[0] == 0)
    trail = int(len(axes) - 1 > lead and axes[-1] == len(axes) - 1)
    if axes[lead : len(axes) - trail] != (lead + 1, lead):
        return None
    outer = radices[0] if lead else 1
    inner = radices[-1] if trail else 1
    return Swap4D(outer, radices[lead], radices[lead + 1], inner)


def block_structure(perm, blocks: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Whether the permutation maps contiguous blocks onto whole blocks, the condition for a grouped conv
    with `blocks` groups to absorb it.

    Returns (block_perm, within) with perm[j·b + l] = block_perm[j]·b + within[j, l], or None.
    """
    s = as_perm(perm)
    if blocks <= 0 or len(s) % blocks:
        return None
    grid = s.reshape(blocks, -1)
    size = grid.shape[1]
    block_perm = grid[:, 0] // size
    if not np.all(grid // size == block_perm[:, None]):
        return None
    return block_perm, grid % size


def expand_blocks(block_perm, size: int) -> np.ndarray:
    """Permutation that moves whole blocks of `size` channels by `block_perm`."""
    return (as_perm(block_perm)[:, None] * size + np.arange(size)).ravel()


def block_diagonal(weight: np.ndarray, groups: int) -> np.ndarray:
    """A grouped conv's weight [C_out, C_in/g, ...] as one dense conv's [C_out, C_in, ...]: zero outside the
    diagonal blocks. A dense conv can then absorb any channel permutation."""
    rows, cols = weight.shape[0] // groups, weight.shape[1]
    dense = np.zeros((weight.shape[0], cols * groups, *weight.shape[2:]), weight.dtype)
    for g in range(groups):
        dense[g * rows : (g + 1) * rows, g * cols : (g + 1) * cols] = weight[g * rows : (g + 1) * rows]
    return dense


def splits_evenly(perm, source_groups: int, reader_groups: int) -> bool:
    """Every reader group (a block of the permuted channels) reads equally many channels of every source group:
    the condition for the `split` lowering, whose branches slice the grouped expansion evenly."""
    s = as_perm(perm)
    reads = s.reshape(reader_groups, -1) // (len(s) // source_groups)
    return all(np.all(np.bincount(r, minlength=source_groups) == len(r) // source_groups) for r in reads)


def source_runs(perm) -> list[tuple[int, int]]:
    """Contiguous source ranges (start, length) in output order: the pieces of a Slice/Concat form."""
    s = as_perm(perm)
    cuts = np.flatnonzero(np.diff(s) != 1) + 1
    return [(int(run[0]), len(run)) for run in np.split(s, cuts)]
