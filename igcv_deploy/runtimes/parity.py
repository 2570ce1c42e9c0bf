"""Numerical agreement of an artifact's outputs with the reference, and the limits it is judged by (numpy only)."""

from __future__ import annotations

import numpy as np

# Parity gates per precision. INT8 accuracy is judged by calibration; its gate only catches a runtime that computes
# something else entirely (e.g. OpenVINO's Gather-permutation miscompile). Dense maps (a class per pixel) allow a
# few near-tied pixels to flip where class vectors allow none.
PARITY_GATES = {
    "fp32": {"max_rel_err": 1e-4, "top1_agreement": 1.0, "pixel_agreement": 0.999, "cosine": 0.9999},
    "fp16": {"max_rel_err": 1e-2, "top1_agreement": 0.99, "pixel_agreement": 0.99, "cosine": 0.999},
    "int8": {"max_rel_err": None, "top1_agreement": 0.0, "pixel_agreement": 0.0, "cosine": 0.9},  # None: no limit
}
AGREEMENTS = {"top1_agreement": "top-1 agreement", "pixel_agreement": "per-pixel agreement"}


def output_kind(shape) -> str:
    """class_scores (N x K), dense_map (N x K x h x w: a class per pixel) or tensor (anything else)."""
    return {2: "class_scores", 4: "dense_map"}.get(len(shape), "tensor")


def compare(reference: np.ndarray, candidate: np.ndarray, reference_name: str = "pytorch") -> dict:
    """max abs/rel error and cosine per sample, then worst; top-1 agreement of class scores, per-pixel agreement
    of dense maps.

    rel = max|a - b| / max|b| per sample (an elementwise ratio explodes on logits near zero).
    """
    reference, candidate = np.asarray(reference, dtype=np.float64), np.asarray(candidate, dtype=np.float64)
    if reference.shape != candidate.shape:
        raise ValueError(f"output shape {candidate.shape} differs from the reference {reference.shape}")
    ref, out = reference.reshape(len(reference), -1), candidate.reshape(len(candidate), -1)
    abs_err = np.abs(ref - out).max(axis=1)
    rel_err = abs_err / np.maximum(np.abs(ref).max(axis=1), 1e-12)
    cosine = (ref * out).sum(axis=1) / np.maximum(np.linalg.norm(ref, axis=1) * np.linalg.norm(out, axis=1), 1e-12)
    figures = {
        "reference": reference_name,
        "max_abs_err": float(abs_err.max()),
        "max_rel_err": float(rel_err.max()),
        "cosine": float(cosine.min()),
    }
    kind = output_kind(reference.shape)
    if kind == "class_scores":
        figures["top1_agreement"] = float((ref.argmax(axis=1) == out.argmax(axis=1)).mean())
    elif kind == "dense_map":
        figures["pixel_agreement"] = float((reference.argmax(axis=1) == candidate.argmax(axis=1)).mean())
    return {**figures, "n_samples": int(len(ref))}


def exceeded(figures: dict, limits: dict) -> list[str]:
    """The limits one output's `figures` break, in words ([] when within all of them); an agreement counts where
    the output has one."""
    broken = []
    if limits["max_rel_err"] is not None and figures["max_rel_err"] > limits["max_rel_err"]:
        broken.append(f"max rel err {figures['max_rel_err']:.2e} > {limits['max_rel_err']:.1e}")
    for key, words in AGREEMENTS.items():
        if key in figures and figures[key] < limits[key]:
            broken.append(f"{words} {figures[key]:.3f} < {limits[key]:.3f}")
    if figures["cosine"] < limits["cosine"]:
        broken.append(f"cosine {figures['cosine']:.4f} < {limits['cosine']:.4f}")
    return broken


def outputs_exceeded(figures: dict, limits: dict) -> list[str]:
    """`exceeded` over every output of a multi-output record (`per_output`), each named by its index."""
    each = figures.get("per_output", [figures])
    if len(each) == 1:
        return exceeded(each[0], limits)
    return [f"output {index}: {problem}" for index, output in enumerate(each) for problem in exceeded(output, limits)]
