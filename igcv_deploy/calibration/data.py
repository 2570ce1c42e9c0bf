"""Calibration data: an image folder (classes give held-out accuracy), a .npy/.npz array, or a built-in set."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IGCVError
from ..progress import progress_bar
from .images import builtin_photos, preprocess_for

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
ARRAY_KEYS = ("images", "x", "data")
LABEL_KEYS = ("labels", "y", "targets")
# Deterministic variants of the bundled photos: (left, top, size) of a square-ish crop as fractions of the
# photo, and whether to mirror it.
VARIANTS = (
    (0, 0, 1, False),
    (0, 0, 1, True),
    (0, 0, 0.7, False),
    (0.3, 0.3, 0.7, True),
    (0.15, 0.15, 0.7, False),
    (0.3, 0, 0.7, True),
    (0, 0.3, 0.6, False),
    (0.4, 0.4, 0.6, True),
)
# An ImageFolder's accuracy split: this fraction of each class (at least one image), at most MAX_HELD_OUT images
# in all (the accuracy budget measures them many times), chosen by the seed.
HELD_OUT = 0.2
MAX_HELD_OUT = 500
SHOWN_CLASSES = 10  # class names the held-out split's description lists


@dataclass
class CalibrationSet:
    images: np.ndarray  # float32 NCHW, preprocessed for the model
    labels: np.ndarray | None
    description: str
    sha256: str
    # A held-out labelled split for accuracy checks, when the source has one (the digits model's).
    eval_images: np.ndarray | None = None
    eval_labels: np.ndarray | None = None
    eval_description: str = ""

    def evaluation(self) -> tuple[np.ndarray, np.ndarray | None, str]:
        """(images, labels or None, name) that accuracy and agreement are measured on."""
        if self.eval_images is not None:
            return self.eval_images, self.eval_labels, self.eval_description
        return self.images, self.labels, self.description


def load_calibration_set(
    source: str | None, config, size: int = 64, seed: int = 0, progress: bool = True
) -> CalibrationSet:
    """`size` samples (fewer if the source has fewer) chosen deterministically by `seed`."""
    if size < 1:
        raise IGCVError(f"--calib-size must be at least 1, got {size}", "pass a positive number of samples")
    if source is None:
        return _digits(size, seed) if config.dataset == "sklearn-digits" else _photos(config, size, seed, progress)
    path = Path(source)
    if not path.exists():
        raise IGCVError(f"calibration data '{source}' does not exist", "pass an image folder or a .npy/.npz file")
    if path.is_dir():
        return _folder(path, config, size, seed, progress)
    if path.suffix in (".npy", ".npz"):
        return _array(path, config, size, seed)
    raise IGCVError(f"cannot read calibration data from '{source}'", "pass an image folder or a .npy/.npz file")


def subset(count: int, size: int, seed: int | tuple[int, ...]) -> np.ndarray:
    """Sorted indices of `size` of `count` samples, the same for the same (size, seed)."""
    if size >= count:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size, replace=False))


def _make(images: np.ndarray, labels, description: str, **held_out) -> CalibrationSet:
    images = np.ascontiguousarray(images, dtype=np.float32)
    digest = hashlib.sha256(images.tobytes()).hexdigest()
    return CalibrationSet(images, labels, f"{description} ({len(images)} samples)", digest, **held_out)


def _digits(size: int, seed: int) -> CalibrationSet:
    """Calibrate on training digits; measure on the held-out split the model was never trained on."""
    from ..models.digits import load_digits_split

    train_x, train_y, test_x, test_y = load_digits_split()
    index = subset(len(train_x), size, seed)
    held_out = {"eval_images": test_x, "eval_labels": test_y, "eval_description": "sklearn digits, held-out split"}
    return _make(train_x[index], train_y[index], "sklearn digits, training split", **held_out)


def _photos(config, size: int, seed: int, progress: bool) -> CalibrationSet:

    print(
        "warning: no --calib-data given: calibrating on scikit-image's sample photos; "
        "a few hundred images from your own domain give better INT8 ranges",
        file=sys.stderr,
    )
    photos = {photo.tobytes(): photo for _, photo in builtin_photos()}.values()  # `cat` is `chelsea` again
    pool = [(photo, variant) for variant in VARIANTS for photo in photos]
    chosen = [pool[i] for i in subset(len(pool), size, seed)]
    chosen = progress_bar(chosen, "calibration photos", progress)
    images = [_prepare(_variant(photo, *variant), config) for photo, variant in chosen]
    return _make(np.stack(images), None, "scikit-image sample photos with crops and flips")


def _variant(photo: np.ndarray, left: float, top: float, size: float, mirror: bool) -> np.ndarray:
    height, width = photo.shape[:2]
    y, x = int(top * height), int(left * width)
    crop = photo[y : y + int(size * height), x : x + int(size * width)]
    return crop[:, ::-1] if mirror else crop


def _prepare(image: np.ndarray, config) -> np.ndarray:
    return preprocess_for(image, config)


def _folder(folder: Path, config, size: int, seed: int, progress: bool) -> CalibrationSet:
    """An ImageFolder (DIR/<class>/<image>, two classes or more) or, failing that, any images under `folder`."""
    files = _image_files(folder)
    if not files:
        raise IGCVError(
            f"no .jpg/.png images in '{folder}'", "point --calib-data at a folder of images (searched recursively)"
        )
    classes = {d.name: _image_files(d) for d in sorted(folder.iterdir()) if d.is_dir() and not d.name.startswith(".")}
    if sum(map(bool, classes.values())) >= 2:
        return _image_folder(folder, classes, config, size, seed, progress)
    print(
        f"note: {folder} has no class subfolders (two or more that hold images): calibrating without an accuracy "
        "measurement (use DIR/<class>/<image> for top-1 before/after INT8)",
        file=sys.stderr,
    )
    chosen = [files[i] for i in subset(len(files), size, seed)]
    return _make(_read(chosen, config, "calibration images", progress), None, f"images from {folder}")


def _image_folder(
    folder: Path, classes: dict[str, list[Path]], config, size: int, seed: int, progress: bool
) -> CalibrationSet:
    """Calibrate on a subset of the images a seeded, stratified split keeps; measure top-1 on the rest."""
    _check_classes(folder, classes, config)
    loose = _image_files(folder, recursive=False)
    if loose:
        print(f"note: {len(loose)} images directly in {folder} belong to no class and are ignored", file=sys.stderr)
    pool, held_out = _split(list(classes.values()), seed)
    chosen = [pool[i] for i in subset(len(pool), size, seed)]
    eval_images, eval_labels = _read_labelled(held_out, config, "held-out images", progress)
    images, labels = _read_labelled(chosen, config, "calibration images", progress)
    names = list(classes)
    shown = ", ".join(names[:SHOWN_CLASSES]) + (f", ... ({len(names)} in all)" if len(names) > SHOWN_CLASSES else "")
    return _make(
        images,
        labels,
        f"{folder}, calibration split: {len(pool)} images of {len(names)} classes",
        eval_images=eval_images,
        eval_labels=eval_labels,
        eval_description=f"{folder}, held-out split: {len(held_out)} images of {len(names)} classes ({shown})",
    )


def _check_classes(folder: Path, classes: dict[str, list[Path]], config) -> None:
    for name, files in classes.items():
        if len(files) < 2:
            found = "only 1 image" if files else "no .jpg/.png images"
            raise IGCVError(
                f"class folder '{folder / name}' holds {found}: each class needs 2 or more to hold some out for the "
                "accuracy check",
                "add images to it or remove it",
            )
    if len(classes) > config.num_classes:
        raise IGCVError(
            f"'{folder}' has {len(classes)} class folders but '{config.name}' predicts {config.num_classes} classes",
            "keep one subfolder per class of the model, named so that they sort in the model's class order",
        )
    if len(classes) < config.num_classes:
        print(
            f"warning: {folder} has {len(classes)} classes, '{config.name}' predicts {config.num_classes}: label i is "
            "the i-th class folder by name, so top-1 means something only if those are the model's first classes",
            file=sys.stderr,
        )


def _split(classes: list[list[Path]], seed: int) -> tuple[list[tuple[Path, int]], list[tuple[Path, int]]]:
    """(calibration pool, held out) as (path, label) pairs: HELD_OUT of each class, MAX_HELD_OUT in all."""
    per_class = max(1, MAX_HELD_OUT // len(classes))
    pool, held_out = [], []
    for label, files in enumerate(classes):
        count = min(max(1, round(HELD_OUT * len(files))), per_class)
        out = set(subset(len(files), count, (seed, label)).tolist())
        for index, path in enumerate(files):
            (held_out if index in out else pool).append((path, label))
    return pool, held_out


def _image_files(folder: Path, recursive: bool = True) -> list[Path]:
    paths = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in paths if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _read_labelled(pairs: list[tuple[Path, int]], config, what: str, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    labels = np.array([label for _, label in pairs], dtype=np.int64)
    return _read([path for path, _ in pairs], config, what, progress), labels


def _read(paths: list[Path], config, what: str, progress: bool) -> np.ndarray:
    """The images at `paths`, preprocessed for the model, as one NCHW float32 array."""
    from PIL import Image, UnidentifiedImageError

    images = []
    for path in progress_bar(paths, what, progress):
        try:
            with Image.open(path) as image:
                images.append(_prepare(np.asarray(image.convert("RGB")), config))
        except (UnidentifiedImageError, OSError) as exc:
            raise IGCVError(f"cannot read calibration image '{path}': {exc}", "remove or replace the file") from exc
    return np.stack(images)


def _array(path: Path, config, size: int, seed: int) -> CalibrationSet:
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise IGCVError(f"cannot read calibration array '{path}': {exc}", "save it with numpy.save/savez") from exc
    labels = None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            keys = [k for k in ARRAY_KEYS if k in loaded.files] or loaded.files[:1]
            label_keys = [k for k in LABEL_KEYS if k in loaded.files]
            if not keys:
                raise IGCVError(f"'{path}' holds no arrays", "save the images under the key 'images'")
            images, labels = loaded[keys[0]], (loaded[label_keys[0]] if label_keys else None)
    else:
        images = loaded
    images = _check_shape(images, config, path)
    if labels is not None and labels.shape != (len(images),):
        raise IGCVError(
            f"'{path}' has {len(images)} images but labels of shape {labels.shape}", "save one label per image"
        )
    index = subset(len(images), size, seed)
    return _make(images[index], None if labels is None else np.asarray(labels)[index], f"arrays from {path.name}")


def _check_shape(images: np.ndarray, config, path: Path) -> np.ndarray:
    expected = tuple(config.input_size)
    if images.ndim == len(expected):
        images = images[None]
    if images.ndim != len(expected) + 1 or tuple(images.shape[1:]) != expected or not len(images):
        wanted = "x".join(map(str, expected))
        raise IGCVError(
            f"'{path}' holds an array of shape {images.shape}, the model takes N x {wanted}",
            "save preprocessed float images in NCHW layout",
        )
    if images.dtype.kind not in "fiu" or not np.isfinite(images).all():
        raise IGCVError(
            f"'{path}' must hold finite numbers, got dtype {images.dtype}", "save preprocessed float32 images"
        )
    return images.astype(np.float32)
