"""Real images, preprocessed with a model's own config (resize, center crop, scale, mean/std)."""

from __future__ import annotations

import warnings

import numpy as np

# Colour photos that scikit-image ships inside its wheel (no download needed), then greyscale ones.
BUILTIN_PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "cat",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "colorwheel",
    "camera",
    "coins",
    "horse",
    "page",
)


def preprocess_for(image: np.ndarray, config) -> np.ndarray:
    """`image` preprocessed as `config` (a ModelConfig) says."""
    return preprocess(
        image, config.input_size, config.mean, config.std, config.crop_pct, config.pixel_range, config.channel_order
    )


def preprocess(
    image: np.ndarray, input_size, mean, std, crop_pct: float, pixel_range: float = 1.0, channel_order: str = "RGB"
) -> np.ndarray:
    """HWC uint8 (or HW grey) -> CHW float32: resize short side, center crop, channel order, normalise."""
    from PIL import Image

    rgb = _to_rgb(image)
    _, height, width = input_size
    scale = min(height, width) / crop_pct / min(rgb.shape[:2])
    resized = Image.fromarray(rgb).resize(
        (max(width, round(rgb.shape[1] * scale)), max(height, round(rgb.shape[0] * scale))), Image.BILINEAR
    )
    left, top = (resized.width - width) // 2, (resized.height - height) // 2
    crop = np.asarray(resized.crop((left, top, left + width, top + height)), dtype=np.float32)
    crop = crop * (pixel_range / 255.0)
    if channel_order.upper() == "BGR":
        crop = crop[:, :, ::-1]  # mean and std are given in the model's channel order
    normalised = (crop - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(normalised.transpose(2, 0, 1))


def _to_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).astype(np.uint8) if image.dtype.kind == "f" else image.astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return image[:, :, :3]


def builtin_photos(limit: int | None = None) -> list[tuple[str, np.ndarray]]:
    """scikit-image's bundled photos as (name, HWC uint8) pairs."""
    from skimage import data

    return [(name, getattr(data, name)()) for name in BUILTIN_PHOTOS[:limit]]


def sample_batch(config, count: int = 10, warn: bool = False) -> np.ndarray:
    """`count` real photos preprocessed for `config` (a ModelConfig), as one NCHW float32 array."""
    if count > len(BUILTIN_PHOTOS):
        raise ValueError(f"only {len(BUILTIN_PHOTOS)} built-in photos are available, asked for {count}")
    if warn:
        warnings.warn(
            "using scikit-image's sample photos; real data from your domain gives better results", stacklevel=2
        )
    return np.stack([preprocess_for(img, config) for _, img in builtin_photos(count)])


def reference_images(config, count: int = len(BUILTIN_PHOTOS)) -> np.ndarray:
    """Inputs for parity checks: the model's own held-out data when it has some, else real photos."""
    if config.dataset == "sklearn-digits":
        from ..models.digits import load_digits_split

        return load_digits_split()[2][:count]
    return sample_batch(config, count)
