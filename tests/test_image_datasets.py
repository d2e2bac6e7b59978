"""The image views the CNN sees: ``digits`` (upsampled pixels) and ``shapes`` (drawn latents).

Expected pixels are recomputed here from the tabular view and the cards' documented
recipes (``datasets/digits.toml`` [images]; ``sources.shapes_arrays``), not read back
from the loader's intermediate arrays.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench import datasets

SIZE = 200  # the seed CNN's input side (bench/ARCHITECTURE.md)
BLOCK = SIZE // 8  # digits: each of the 8 x 8 pixels becomes a 25 x 25 block


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


@pytest.fixture(scope="module")
def shapes():
    return datasets.load("shapes")


def _blocks(images: np.ndarray) -> np.ndarray:
    """(n, 3, 200, 200) -> (n, 3, 8, 25, 8, 25): block (i, j) at [:, :, i, :, j, :]."""
    n = images.shape[0]
    return images.reshape(n, 3, 8, BLOCK, 8, BLOCK)


def test_digits_views_line_up(digits):
    assert digits.labels == ("3", "8")
    assert digits.has_images
    for images, X, y in (
        (digits.images_train, digits.X_train, digits.y_train),
        (digits.images_test, digits.X_test, digits.y_test),
    ):
        n = X.shape[0]
        assert images.dtype == np.uint8
        assert images.shape == (n, 3, SIZE, SIZE)
        assert X.shape == (n, 64)
        assert y.shape == (n,)
    assert not digits.images_train.flags.writeable  # the Dataset is frozen, its views too


def test_digits_image_is_the_upsampled_pixel_row(digits):
    """One image by hand: block (i, j) is constant and equals pixel X[8 i + j] scaled to 255."""
    image, pixels = digits.images_train[0], digits.X_train[0]
    # pixel_images scales so the largest value in the data (16, the digits' maximum) is 255
    scale = 255.0 / max(digits.X_train.max(), digits.X_test.max())
    assert scale == pytest.approx(255.0 / 16.0)
    # scikit-learn names the columns pixel_<row>_<col>: feature 8 i + j is row i, column j
    assert digits.feature_names[8 * 2 + 5] == "pixel_2_5"
    for i in range(8):
        for j in range(8):
            block = image[0, BLOCK * i : BLOCK * (i + 1), BLOCK * j : BLOCK * (j + 1)]
            assert np.all(block == block[0, 0]), (i, j)
            assert block[0, 0] == np.rint(pixels[8 * i + j] * scale), (i, j)
    assert np.array_equal(image[0], image[1]) and np.array_equal(image[0], image[2])  # gray: 3 equal channels


@pytest.mark.parametrize("part", ["train", "test"])
def test_every_digits_image_matches_its_row(digits, part):
    images, X = getattr(digits, f"images_{part}"), getattr(digits, f"X_{part}")
    blocks = _blocks(images)
    corner = blocks[:, :, :, :1, :, :1]  # (n, 3, 8, 1, 8, 1)
    assert np.all(blocks == corner)  # every 25 x 25 block is constant
    scale = 255.0 / max(digits.X_train.max(), digits.X_test.max())
    expected = np.rint(X.reshape(-1, 8, 8) * scale)  # (n, 8, 8)
    assert np.array_equal(corner[:, :, :, 0, :, 0], np.broadcast_to(expected[:, None], corner.shape[:3] + (8,)))


def test_shapes_truth_and_true_logits(shapes):
    truth = shapes.truth
    assert truth is not None
    assert truth.coef.shape == (3,)
    assert shapes.X_test.shape[1] == 3
    expected = truth.intercept + np.sum(shapes.X_test * truth.coef, axis=1)
    # the same float64 expression summed in another order: rounding only
    np.testing.assert_allclose(shapes.true_test_logits, expected, rtol=0, atol=1e-12)
    assert truth.intercept == pytest.approx(0.3)  # datasets/shapes.toml


def test_shapes_red_square_brightness_follows_z1(shapes):
    images, z1 = shapes.images_train, shapes.X_train[:, 0]
    assert images.dtype == np.uint8 and images.shape == (shapes.n_train, 3, SIZE, SIZE)
    red = images[:, 0].astype(np.float64)  # (n, 200, 200)
    square = red[:, 60:140, 60:140]  # the centred 80 x 80 square
    brightness = square.mean(axis=(1, 2))
    assert np.all(square.min(axis=(1, 2)) == square.max(axis=(1, 2)))  # one brightness per image
    outside = red.copy()
    outside[:, 60:140, 60:140] = 0.0
    assert not outside.any()  # nothing red outside the square
    order = np.argsort(z1)
    assert np.all(np.diff(brightness[order]) >= 0)  # monotone in z1
    assert np.corrcoef(brightness, z1)[0, 1] > 0.999  # linear up to uint8 rounding
    # the documented recipe: 128 + 50 z1, rounded (|z1| <= 2.5 keeps it in [3, 253])
    np.testing.assert_array_equal(brightness, np.rint(128.0 + 50.0 * z1))


def test_shapes_is_identical_on_a_second_load(shapes):
    again = datasets.load("shapes")
    for field in ("X_train", "y_train", "X_test", "y_test", "images_train", "images_test"):
        assert np.array_equal(getattr(shapes, field), getattr(again, field)), field
    assert np.array_equal(shapes.truth.coef, again.truth.coef)
    assert shapes.truth.intercept == again.truth.intercept
