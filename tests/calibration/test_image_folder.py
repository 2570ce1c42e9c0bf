"""`--calib-data DIR/<class>/<image>`: calibration on a seeded, stratified split, top-1 on the images held out."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from igcv_deploy.calibration import data
from igcv_deploy.calibration.data import load_calibration_set
from igcv_deploy.errors import IGCVError
from igcv_deploy.models import get_config
from igcv_deploy.models.digits import MEAN, STD, load_digits_split
from igcv_deploy.models.registry import ModelConfig

from ..conftest import read_manifest

DIGITS = get_config("igcv3-digits")
PER_CLASS = 20  # 4 of them held out (20%), 16 in the calibration pool
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")  # sort as 8, 5, 4, 9, 1...


def write_digits(folder, names=tuple("0123456789"), per_class=PER_CLASS) -> np.ndarray:
    """Held-out scikit-learn digits as 32x32 grey PNGs in folder/<names[digit]>/; returns the source images."""
    _, _, images, labels = load_digits_split()
    sources = []
    for digit, name in enumerate(names):
        (folder / name).mkdir(parents=True)
        for index, image in enumerate(images[labels == digit][:per_class]):
            grey = np.clip(np.rint((image[0] * STD + MEAN) * 255), 0, 255).astype(np.uint8)
            Image.fromarray(grey).save(folder / name / f"{index:03d}.png")
            sources.append(image)
    return np.stack(sources)


def load(folder, size=32, seed=0, config=DIGITS):
    return load_calibration_set(str(folder), config, size=size, seed=seed, progress=False)


def hashes(images: np.ndarray) -> set[bytes]:
    return {image.tobytes() for image in images}


@pytest.fixture
def digits_folder(tmp_path):
    write_digits(tmp_path / "digits")
    return tmp_path / "digits"


def test_labels_follow_sorted_folder_names(tmp_path):
    sources = write_digits(tmp_path, WORDS)
    digit_of_source = np.repeat(np.arange(10), PER_CLASS)
    calib = load(tmp_path, size=1000)
    for images, labels in ((calib.images, calib.labels), calib.evaluation()[:2]):
        nearest = np.abs(images[:, None] - sources[None]).reshape(len(images), len(sources), -1).max(axis=2)
        assert nearest.min(axis=1).max() < 0.01  # the PNGs round-trip the digits to 1/255 of a pixel
        digits = digit_of_source[nearest.argmin(axis=1)]
        assert [sorted(WORDS)[label] for label in labels] == [WORDS[digit] for digit in digits]


def test_calibration_and_held_out_images_are_disjoint_and_stratified(digits_folder):
    calib = load(digits_folder, size=1000)
    images, labels, name = calib.evaluation()
    assert len(images) == 40 and list(np.bincount(labels)) == [4] * 10
    assert len(calib.images) == 160 and not hashes(calib.images) & hashes(images)
    assert len(hashes(calib.images) | hashes(images)) == 10 * PER_CLASS
    assert "160 images of 10 classes (160 samples)" in calib.description
    assert "held-out split: 40 images of 10 classes (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)" in name
    small = load(digits_folder, size=32)
    assert len(small.images) == 32 and hashes(small.images) <= hashes(calib.images)
    assert hashes(small.evaluation()[0]) == hashes(images)  # --calib-size does not move the held-out split


def test_held_out_split_is_capped_but_keeps_every_class(digits_folder, monkeypatch):
    monkeypatch.setattr(data, "MAX_HELD_OUT", 15)
    calib = load(digits_folder, size=1000)
    assert list(np.bincount(calib.eval_labels)) == [1] * 10 and len(calib.images) == 190


def test_split_is_deterministic_for_a_seed(digits_folder):
    first, again, other = load(digits_folder), load(digits_folder), load(digits_folder, seed=1)
    assert first.sha256 == again.sha256 != other.sha256
    assert hashes(first.eval_images) == hashes(again.eval_images) != hashes(other.eval_images)
    assert list(first.labels) == list(again.labels)


def test_loose_folder_calibrates_without_labels_and_says_so(tmp_path, capsys):
    write_digits(tmp_path / "classes", per_class=3)
    for index, path in enumerate(sorted((tmp_path / "classes").rglob("*.png"))):
        path.rename(tmp_path / f"{index}.png")
    calib = load(tmp_path)
    assert len(calib.images) == 30 and calib.labels is None and calib.evaluation()[1] is None
    err = capsys.readouterr().err
    assert err.startswith(f"note: {tmp_path} has no class subfolders") and "top-1" in err


def test_loose_images_beside_class_folders_are_ignored(digits_folder, capsys):
    before = load(digits_folder)
    for index in range(3):
        Image.fromarray(np.full((8, 8), 255 * index // 2, np.uint8)).save(digits_folder / f"stray{index}.png")
    capsys.readouterr()
    after = load(digits_folder)
    assert after.sha256 == before.sha256 and hashes(after.eval_images) == hashes(before.eval_images)
    assert "note: 3 images directly in" in capsys.readouterr().err


def test_fewer_classes_than_the_model_predicts_is_warned_about(tmp_path, capsys):
    write_digits(tmp_path, names=("cat", "dog"), per_class=2)
    calib = load(tmp_path, config=ModelConfig("pets", input_size=(3, 32, 32), num_classes=1000))
    assert list(calib.eval_labels) == [0, 1] and list(calib.labels) == [0, 1]
    assert "warning: " in capsys.readouterr().err


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda p: (p / "2").mkdir() or (p / "2" / "notes.txt").write_text("-"), "2' holds no .jpg/.png images"),
        (lambda p: (p / "1" / "001.png").unlink(), "1' holds only 1 image"),
        (lambda p: (p / "1" / "001.png").write_bytes(b"\x89PNG not really"), "cannot read calibration image"),
    ],
)
def test_class_folders_that_cannot_be_split_or_read_are_refused(tmp_path, spoil, message):
    write_digits(tmp_path, names=("0", "1"), per_class=2)
    spoil(tmp_path)
    with pytest.raises(IGCVError, match=message) as error:
        load(tmp_path)
    assert "\n" not in str(error.value) and error.value.fix


def test_more_classes_than_the_model_predicts_is_refused(tmp_path):
    write_digits(tmp_path, names=("0", "1", "2"), per_class=2)
    with pytest.raises(IGCVError, match="has 3 class folders but 'two' predicts 2 classes"):
        load(tmp_path, config=ModelConfig("two", input_size=(3, 32, 32), num_classes=2))


def test_int8_export_measures_top1_on_the_held_out_images(workdir, run_cli, digits_folder):
    args = ("--model", "igcv3-digits", "--target", "onnx", "--precision", "int8", "--calib-size", 32)
    code, _, err = run_cli(*args, "--calib-data", digits_folder, "--output", "d")
    assert code == 0, err
    manifest = read_manifest(workdir / "d")
    accuracy = manifest["accuracy"]
    assert accuracy["n_samples"] == 40 and "held-out split: 40 images of 10 classes" in accuracy["dataset"]
    assert accuracy["reference_top1"] >= 0.95 and accuracy["drop_points"] <= 5.0
    assert accuracy["drop_points"] == round(100 * (accuracy["reference_top1"] - accuracy["quantized_top1"]), 3)
    assert manifest["calibration"]["n_samples"] == 32
