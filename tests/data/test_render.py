"""Rendering: the fast windowed path and the grid equal the Pillow reference bit for bit."""

import itertools

import numpy as np
import pytest

from bvae_tf.data import render

BASES = list(itertools.product(range(3), range(6), range(60)))


@pytest.fixture(scope="module")
def every_base_factors():
    """2,160 factor tuples: every (shape, scale, rotation) twice, at random positions."""
    random_state = np.random.RandomState(0)
    bases = np.array(BASES * 2)
    positions = random_state.randint(16, size=(len(bases), 2))
    return np.column_stack([bases[:, :1], positions, bases[:, 1:]])


@pytest.fixture(scope="module")
def reference_images(every_base_factors):
    return render.render_reference(every_base_factors)


def test_fast_render_equals_reference_on_every_shape_scale_rotation(
    every_base_factors, reference_images
):
    assert len(every_base_factors) >= 2000
    np.testing.assert_array_equal(render.render(every_base_factors), reference_images)


def test_grid_rows_equal_reference(shapes_data, every_base_factors, reference_images):
    np.testing.assert_array_equal(shapes_data.images_of(every_base_factors), reference_images)
    rows = shapes_data.packed_grid[render.grid_index(every_base_factors)]
    np.testing.assert_array_equal(rows, np.packbits(reference_images.reshape(-1, 4096), axis=1))


def test_reference_images_are_binary_and_nonempty(reference_images):
    assert reference_images.dtype == np.uint8
    assert set(np.unique(reference_images)) == {0, 1}
    assert reference_images.reshape(len(reference_images), -1).sum(axis=1).min() > 50


def test_square_at_rotation_zero_is_the_drawn_square():
    # scale 0: radius 8, side 17; centre at column 24 + pos_x, row 24 + pos_y.
    image = render.render_reference([0, 3, 5, 0, 0])[0]
    expected = np.zeros((64, 64), np.uint8)
    expected[24 + 5 - 8 : 24 + 5 + 9, 24 + 3 - 8 : 24 + 3 + 9] = 1
    np.testing.assert_array_equal(image, expected)


def test_positions_translate_the_image():
    base = render.render([[2, 0, 0, 4, 17]])[0]
    moved = render.render([[2, 5, 9, 4, 17]])[0]
    np.testing.assert_array_equal(moved[9:, 5:], base[:-9, :-5])


def test_build_grid_order_matches_the_factor_formula():
    factors = np.array([[1, 2, 3, 4, 5], [2, 15, 0, 5, 59], [0, 0, 0, 0, 0]])
    expected = ((factors[:, 0] * 16 + factors[:, 1]) * 16 + factors[:, 2]) * 6 + factors[:, 3]
    expected = expected * 60 + factors[:, 4]
    np.testing.assert_array_equal(render.grid_index(factors), expected)
    np.testing.assert_array_equal(render.factors_at(expected), factors)


def test_grid_index_round_trip_over_everything():
    indices = np.arange(render.NUM_IMAGES)
    np.testing.assert_array_equal(render.grid_index(render.factors_at(indices)), indices)


@pytest.mark.parametrize(
    ("factors", "message"),
    [
        ([3, 0, 0, 0, 0], "shape = 3"),
        ([0, 16, 0, 0, 0], "pos_x = 16"),
        ([0, 0, -1, 0, 0], "pos_y = -1"),
        ([0, 0, 0, 6, 0], "scale = 6"),
        ([0, 0, 0, 0, 60], "rotation = 60"),
        ([[0, 0, 0, 0]], r"shape \(num, 5\)"),
        (np.zeros((2, 5, 1), int), r"shape \(num, 5\)"),
        ([0.5, 0, 0, 0, 0], "integers"),
    ],
)
def test_bad_factors_raise(factors, message):
    with pytest.raises(ValueError, match=message):
        render.render(factors)
    with pytest.raises(ValueError, match=message):
        render.render_reference(factors)


def test_factors_at_rejects_rows_outside_the_grid():
    with pytest.raises(ValueError, match="indices"):
        render.factors_at([render.NUM_IMAGES])
