"""Numerical agreement of an artifact's outputs with the reference (numpy only)."""

from __future__ import annotations

import numpy as np

# Parity gates per precision. INT8 accuracy is judged by calibration; its gate only catches a
# runtime that computes something else entirely (e.g. OpenVINO's Gather-permutation miscompile).
PARITY_GATES = {
    "fp32": {"max_rel_err": 1e-4, "top1_agreement": 1.0, "cosine": 0.9999},
    "fp16": {"max_rel_err": 1e-2, "top1_agreement": 0.99, "cosine": 0.999},
    "int8": {"max_rel_err": float("inf"), "top1_agreement": 0.0, "cosine": 0.9},
}


def compare(reference: np.ndarray, candidate: np.ndarray, reference_name: str = "pytorch") -> dict:
    """max abs/rel error, cosine and top-1 agreement of logits, per sample then worst/mean.

    rel = max|a - b| / max|b| per sample (an elementwise ratio explodes on logits near zero).
    """
    ref = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
    out = np.asarray(candidate, dtype=np.float64).reshape(len(candidate), -1)
    if ref.shape != out.shape:
        raise ValueError(f"output shape {out.shape} differs from the reference {ref.shape}")
    abs_err = np.abs(ref - out).max(axis=1)
    rel_err = abs_err / np.maximum(np.abs(ref).max(axis=1), 1e-12)
    cosine = (ref * out).sum(axis=1) / np.maximum(np.linalg.norm(ref, axis=1) * np.linalg.norm(out, axis=1), 1e-12)
    return {
        "reference": reference_name,
        "max_abs_err": float(abs_err.max()),
        "max_rel_err": float(rel_err.max()),
        "cosine": float(cosine.min()),
        "top1_agreement": float((ref.argmax(axis=1) == out.argmax(axis=1)).mean()),
        "n_samples": int(len(ref)),
    }


def exceeded(figures: dict, limits: dict) -> list[str]:
    """The limits `figures` break, in words ([] when within all of them)."""
    broken = []
    if figures["max_rel_err"] > limits["max_rel_err"]:
        broken.append(f"max rel err {figures['max_rel_err']:.2e} > {limits['max_rel_err']:.0e}")
    if figures["top1_agreement"] < limits["top1_agreement"]:
        broken.append(f"top-1 agreement {figures['top1_agreement']:.2f} < {limits['top1_agreement']:.2f}")
    if figures["cosine"] < limits["cosine"]:
        broken.append(f"cosine {figures['cosine']:.4f} < {limits['cosine']:.4f}")
    return broken
