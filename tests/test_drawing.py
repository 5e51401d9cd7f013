"""Tests for ae_core.drawing: a canvas drawing made into an MNIST-like digit (ink bounding box
scaled to a 20-pixel box keeping its aspect, centre of mass at the centre of 28x28)."""

from __future__ import annotations

import numpy as np
import pytest

from ae_core import drawing


def canvas_with_strokes(*boxes: tuple[int, int, int, int], size: int = 280) -> np.ndarray:
    """A white opaque RGBA canvas with black filled rectangles (top, bottom, left, right)."""
    rgba = np.full((size, size, 4), 255, dtype=np.uint8)
    for top, bottom, left, right in boxes:
        rgba[top:bottom, left:right, :3] = 0
    return rgba


def ink_box(image: np.ndarray) -> tuple[int, int]:
    """Height and width of the pixels holding ink."""
    rows = np.flatnonzero(image.max(axis=1) > drawing.INK_THRESHOLD)
    columns = np.flatnonzero(image.max(axis=0) > drawing.INK_THRESHOLD)
    return rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1


def test_canvas_ink_is_dark_opaque_paint_and_nothing_else():
    rgba = np.zeros((2, 3, 4), dtype=np.uint8)
    rgba[0, 0] = (0, 0, 0, 255)  # a black stroke
    rgba[0, 1] = (255, 255, 255, 255)  # the white background
    rgba[0, 2] = (0, 0, 0, 0)  # transparent
    rgba[1, 0] = (0, 0, 0, 128)  # a half-covered edge of a stroke
    ink = drawing.canvas_ink(rgba)
    assert ink.shape == (2, 3)
    np.testing.assert_allclose(ink[0], [1.0, 0.0, 0.0])
    assert ink[1, 0] == pytest.approx(128 / 255)
    with pytest.raises(ValueError, match="RGBA"):
        drawing.canvas_ink(np.zeros((4, 4, 3)))


def test_resize_averages_the_area_each_output_pixel_covers():
    image = np.arange(16, dtype=float).reshape(4, 4)
    halved = drawing.resize(image, (2, 2))
    np.testing.assert_allclose(halved, [[2.5, 4.5], [10.5, 12.5]])
    assert drawing.resize(np.ones((30, 7)), (20, 5)) == pytest.approx(np.ones((20, 5)))


def test_a_stroke_becomes_a_digit_of_20_pixels_centred_by_its_mass_in_28x28():
    # A "7" drawn small in the top-left corner: a bar and a thick stem, 150 tall and 90 wide.
    ink = drawing.canvas_ink(canvas_with_strokes((10, 30, 20, 110), (10, 160, 90, 110)))
    digit = drawing.mnist_like(ink)
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.min() >= 0.0 and digit.max() == pytest.approx(1.0)
    height, width = ink_box(digit)
    assert height == 20  # the longer side fills the 20-pixel box ...
    assert width == pytest.approx(20 * 90 / 150, abs=1)  # ... and the aspect is kept
    row, column = drawing.centre_of_mass(digit)
    assert row == pytest.approx(13.5, abs=1.0) and column == pytest.approx(13.5, abs=1.0)
    # Where it was drawn and how large do not matter: the same stroke elsewhere, twice the size.
    moved = drawing.canvas_ink(
        canvas_with_strokes((100, 140, 60, 240), (100, 400, 200, 240), size=560)
    )
    np.testing.assert_allclose(drawing.mnist_like(moved), digit, atol=0.05)


def test_a_wide_stroke_fits_the_box_by_its_width_and_an_empty_canvas_is_nothing():
    digit = drawing.mnist_like(drawing.canvas_ink(canvas_with_strokes((130, 150, 20, 260))))
    height, width = ink_box(digit)
    assert width == 20 and height <= 3
    row, column = drawing.centre_of_mass(digit)
    assert row == pytest.approx(13.5, abs=1.0) and column == pytest.approx(13.5, abs=1.0)
    assert drawing.mnist_like(drawing.canvas_ink(canvas_with_strokes())) is None
