"""Calibration data sources, deterministic subsets and the errors users see."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from igcv_deploy.calibration.data import load_calibration_set
from igcv_deploy.errors import IGCVError
from igcv_deploy.models.registry import ModelConfig

CONFIG = ModelConfig("test", input_size=(3, 16, 16), crop_pct=1.0)


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "a" / "b").mkdir(parents=True)
    for index in range(6):
        sub = tmp_path / ("a/b" if index % 2 else "a")
        pixels = rng.integers(0, 255, (20 + index, 24, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(sub / f"img{index}.{'png' if index % 3 else 'JPG'}")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_image_folder_is_searched_recursively_and_preprocessed(folder):
    calib = load_calibration_set(str(folder), CONFIG, size=64, progress=False)
    assert calib.images.shape == (6, 3, 16, 16) and calib.images.dtype == np.float32
    assert calib.labels is None and "6 samples" in calib.description
    assert len(calib.sha256) == 64


def test_subset_is_deterministic(folder):
    first, again = (load_calibration_set(str(folder), CONFIG, size=3, seed=1, progress=False) for _ in range(2))
    other = load_calibration_set(str(folder), CONFIG, size=3, seed=2, progress=False)
    assert len(first.images) == 3 and first.sha256 == again.sha256 != other.sha256


def test_arrays_with_labels(tmp_path):
    images = np.random.default_rng(0).normal(size=(10, 3, 16, 16)).astype(np.float32)
    np.savez(tmp_path / "calib.npz", images=images, labels=np.arange(10))
    calib = load_calibration_set(str(tmp_path / "calib.npz"), CONFIG, size=4, progress=False)
    assert calib.images.shape == (4, 3, 16, 16)
    index = [int(np.flatnonzero((images == image).all(axis=(1, 2, 3)))[0]) for image in calib.images]
    assert list(calib.labels) == index
    np.save(tmp_path / "one.npy", images[0])
    assert load_calibration_set(str(tmp_path / "one.npy"), CONFIG, progress=False).images.shape == (1, 3, 16, 16)


def test_builtin_photos_give_64_distinct_samples_and_warn(capsys):
    calib = load_calibration_set(None, CONFIG, size=64, progress=False)
    assert calib.images.shape == (64, 3, 16, 16)
    assert len({image.tobytes() for image in calib.images}) == 64
    assert "better" in capsys.readouterr().err


def test_digits_calibrate_on_training_and_measure_on_held_out():
    from igcv_deploy.models.digits import HELDOUT

    config = ModelConfig("digits", input_size=(3, 32, 32), dataset="sklearn-digits")
    calib = load_calibration_set(None, config, size=64, progress=False)
    images, labels, name = calib.evaluation()
    assert calib.images.shape == (64, 3, 32, 32) and len(calib.labels) == 64
    assert images.shape == (HELDOUT, 3, 32, 32) and len(labels) == HELDOUT and "held-out" in name
    assert not {image.tobytes() for image in calib.images} & {image.tobytes() for image in images}


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: p, "no .jpg/.png images"),
        (lambda p: _write(p / "x.npy", np.zeros((2, 3, 8, 8), np.float32)), "shape (2, 3, 8, 8)"),
        (lambda p: _write(p / "x.npy", np.full((2, 3, 16, 16), np.nan, np.float32)), "finite numbers"),
        (lambda p: _write(p / "x.npy", np.zeros((3, 16), np.float32)), "shape (3, 16)"),
        (lambda p: _bytes(p / "broken.png", b"\x89PNG not really") and p, "cannot read calibration image"),
        (lambda p: _bytes(p / "x.npy", b"garbage"), "cannot read calibration array"),
        (lambda p: _bytes(p / "x.csv", b"1,2"), "cannot read calibration data"),
    ],
)
def test_clear_errors(tmp_path, make, message):
    with pytest.raises(IGCVError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_calibration_set(str(make(tmp_path)), CONFIG, progress=False)


def _write(path, array):
    np.save(path, array)
    return path


def _bytes(path, data: bytes):
    path.write_bytes(data)
    return path


def test_bgr_models_get_their_channels_flipped():
    from igcv_deploy.calibration.images import builtin_photos, preprocess_for
    from igcv_deploy.models import get_config

    rgb = get_config("igcv3").with_overrides(input_size=(3, 32, 32), mean=(0.5,) * 3, std=(0.25,) * 3)
    bgr = rgb.with_overrides(channel_order="BGR")
    image = next(iter(builtin_photos(1)))[1]
    np.testing.assert_array_equal(preprocess_for(image, bgr), preprocess_for(image, rgb)[::-1])
