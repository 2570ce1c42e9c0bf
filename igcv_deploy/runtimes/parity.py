"""Numerical agreement of an artifact's outputs with the reference (numpy only)."""

from __future__ import annotations

import numpy as np


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
