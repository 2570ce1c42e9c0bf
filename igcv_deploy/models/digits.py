"""scikit-learn's bundled 8x8 digits: the data of the shipped `igcv3-digits` model.

`load_digits_split` gives the exact preprocessed training and held-out images the shipped weights
were trained and measured on; calibration and accuracy checks reuse the held-out split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import require

SEED = 0
HELDOUT = 360  # images (20%, stratified by class) that training never sees
IMAGE_SIZE = 32
WIDTH = 0.25  # IGCV3-D width multiplier of the shipped model (CIFAR layout)
# Pixel statistics of the seed-0 training split after scaling to 0..1 and upsampling.
MEAN = 0.3054
STD = 0.3237
WEIGHTS = Path(__file__).parent / "weights" / "igcv3_digits.pt"
METADATA = WEIGHTS.with_suffix(".json")


def bilinear_matrix(src: int, dst: int) -> np.ndarray:
    """(dst, src) matrix of 1-D bilinear resampling with half-pixel centres (PIL/torch align_corners=False)."""
    pos = np.clip((np.arange(dst) + 0.5) * src / dst - 0.5, 0, src - 1)
    low = np.floor(pos).astype(int)
    high = np.minimum(low + 1, src - 1)
    matrix = np.zeros((dst, src))
    np.add.at(matrix, (np.arange(dst), low), 1 - (pos - low))
    np.add.at(matrix, (np.arange(dst), high), pos - low)
    return matrix


def load_digits_split(seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_x, train_y, test_x, test_y): float32 NCHW 3x32x32 images, normalised with MEAN/STD, int64 labels.

    Pixels are scaled 0..16 -> 0..1, upsampled bilinearly to 32x32 and replicated to 3 channels; the
    held-out split (HELDOUT images, stratified) is fixed by `seed`.
    """
    datasets = require("sklearn.datasets", "export")
    model_selection = require("sklearn.model_selection", "export")
    digits = datasets.load_digits()
    resample = bilinear_matrix(digits.images.shape[1], IMAGE_SIZE)
    images = resample @ (digits.images / 16.0) @ resample.T
    x = np.repeat(((images - MEAN) / STD)[:, None], 3, axis=1).astype(np.float32)
    y = digits.target.astype(np.int64)
    train, test = model_selection.train_test_split(np.arange(len(y)), test_size=HELDOUT, stratify=y, random_state=seed)
    return x[train], y[train], x[test], y[test]


def accuracy(model, x: np.ndarray, y: np.ndarray, batch: int = 256) -> float:
    """Top-1 accuracy of a torch model (in eval mode) on preprocessed images."""
    import torch

    with torch.no_grad():
        logits = torch.cat([model(torch.from_numpy(x[i : i + batch])) for i in range(0, len(x), batch)])
    return float((logits.argmax(1).numpy() == y).mean())
