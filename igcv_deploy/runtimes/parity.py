"""Numerical agreement of an artifact's outputs with the reference (numpy only)."""

from __future__ import annotations

import numpy as np


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
