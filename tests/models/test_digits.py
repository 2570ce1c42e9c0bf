"""The shipped igcv3-digits model: its data split, its packaged weights and its recorded accuracy."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from igcv_deploy.models import create_model, digits, get_config


@pytest.fixture(scope="module")
def split():
    return digits.load_digits_split()


def test_split_is_fixed_and_disjoint(split):
    train_x, train_y, test_x, test_y = split
    assert train_x.shape == (1797 - 360, 3, 32, 32) and test_x.shape == (360, 3, 32, 32)
    assert train_x.dtype == test_x.dtype == np.float32
    assert len(test_y) >= 300
    assert set(np.bincount(test_y)) <= {35, 36, 37}  # stratified: about 36 per class
    again = digits.load_digits_split()
    np.testing.assert_array_equal(again[2], test_x)
    train_rows = {row.tobytes() for row in train_x[:, 0]}
    assert not any(row.tobytes() in train_rows for row in test_x[:, 0])  # no held-out image is also a training image
    assert abs(float(train_x.mean())) < 0.01 and abs(float(train_x.std()) - 1) < 0.01  # MEAN/STD fit the training split


def test_shipped_weights_reach_the_recorded_heldout_accuracy(split):
    _, _, test_x, test_y = split
    config = get_config("igcv3-digits")
    measured = digits.accuracy(create_model("igcv3-digits"), test_x, test_y)
    assert measured >= 0.95
    assert abs(measured - config.extra["heldout_accuracy"]) <= 1 / len(test_y)
    assert config.extra["heldout_images"] == len(test_y)


def test_shipped_file_is_small_safe_and_recorded():
    raw = digits.WEIGHTS.read_bytes()
    assert len(raw) <= 2 * 1024 * 1024
    assert hashlib.sha256(raw).hexdigest() == get_config("igcv3-digits").extra["weights"]["sha256"]
    state = torch.load(digits.WEIGHTS, map_location="cpu", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())


def test_untrained_variant_differs():
    trained, untrained = create_model("igcv3-digits"), create_model("igcv3-digits", pretrained=False)
    assert not torch.equal(trained.stem[0].weight, untrained.stem[0].weight)
