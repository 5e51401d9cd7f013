"""A digit drawn with the mouse, made to look like an MNIST digit.

MNIST's digits were size-normalised to fit a 20x20 box keeping their aspect ratio, anti-aliased
to grey levels, and placed in a 28x28 image with their centre of mass at its centre (LeCun,
Cortes and Burges, the MNIST page). A drawing goes through the same steps here, so a model
trained on MNIST sees it as it saw its training digits.
"""

from __future__ import annotations

import numpy as np

# The image an MNIST model reads, and the box the digit itself is scaled to fit.
MNIST_SHAPE = (28, 28)
MNIST_BOX = 20
# Ink fainter than this (in [0, 1]) is the canvas's anti-aliasing haze, not part of the digit's box.
INK_THRESHOLD = 0.05


def canvas_ink(rgba: np.ndarray) -> np.ndarray:
    """How much ink each pixel of an RGBA canvas image (height x width x 4, 0-255) holds, in
    [0, 1]: dark opaque strokes are ink, a white or transparent background is none."""
    rgba = np.asarray(rgba, dtype=np.float32)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"a canvas image is height x width x 4 (RGBA), not {rgba.shape}")
    luminance = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return (rgba[..., 3] / 255.0) * (1.0 - luminance / 255.0)


def _area_weights(source: int, target: int) -> np.ndarray:
    """(target, source) weights: each output pixel the mean of the source pixels it covers, in
    proportion to how much of each it covers (the box filter that anti-aliases a shrink)."""
    edges = np.linspace(0.0, source, target + 1)
    start, end = edges[:-1, None], edges[1:, None]
    pixel = np.arange(source)[None, :]
    overlap = np.clip(np.minimum(end, pixel + 1) - np.maximum(start, pixel), 0.0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``image`` (2-D) resampled to ``shape`` by area averaging."""
    image = np.asarray(image, dtype=np.float64)
    rows = _area_weights(image.shape[0], shape[0])
    columns = _area_weights(image.shape[1], shape[1])
    return rows @ image @ columns.T


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """The (row, column) of an image's centre of mass, its pixel values the masses."""
    image = np.asarray(image, dtype=np.float64)
    total = image.sum()
    if total <= 0:
        raise ValueError("an image with no ink has no centre of mass")
    rows, columns = np.indices(image.shape)
    return float((rows * image).sum() / total), float((columns * image).sum() / total)


def mnist_like(
    ink: np.ndarray, shape: tuple[int, int] = MNIST_SHAPE, box: int = MNIST_BOX
) -> np.ndarray | None:
    """A drawing's ink (2-D, in [0, 1]) as an MNIST digit: cropped to the ink's bounding box,
    scaled so its longer side is ``box`` pixels (keeping its aspect ratio), and placed in an
    image of ``shape`` with its centre of mass at the centre; values in [0, 1], the darkest
    stroke 1. None when nothing is drawn."""
    ink = np.clip(np.asarray(ink, dtype=np.float64), 0.0, 1.0)
    if ink.ndim != 2:
        raise ValueError(f"a drawing's ink is a 2-D image, not of shape {ink.shape}")
    rows = np.flatnonzero(ink.max(axis=1) > INK_THRESHOLD)
    columns = np.flatnonzero(ink.max(axis=0) > INK_THRESHOLD)
    if not len(rows):
        return None
    crop = ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    scale = box / max(crop.shape)
    fitted = resize(crop, tuple(max(1, round(side * scale)) for side in crop.shape))
    height, width = shape
    # Room on every side, so the window centred on the centre of mass always lies inside.
    padded = np.zeros((fitted.shape[0] + 2 * height, fitted.shape[1] + 2 * width))
    padded[height : height + fitted.shape[0], width : width + fitted.shape[1]] = fitted
    row, column = centre_of_mass(padded)
    top, left = round(row - (height - 1) / 2), round(column - (width - 1) / 2)
    digit = padded[top : top + height, left : left + width]
    return np.clip(digit / digit.max(), 0.0, 1.0).astype(np.float32)
