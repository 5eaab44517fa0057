"""The shapes dataset: exact counts, clean splits, and the ground-truth interface."""

import json

import numpy as np
import pytest

from bvae_tf.data import cache, grid, render, shapes

SPLIT_SIZES = {"train": 186_915, "validation": 40_053, "test": 40_053}
PER_SHAPE = {"train": 62_305, "validation": 13_351, "test": 13_351}


def test_counts_are_the_papers(shapes_data):
    assert sum(len(shapes_data.split(name)) for name in shapes.SPLIT_NAMES) == 267_021
    for name, size in SPLIT_SIZES.items():
        split = shapes_data.split(name)
        assert len(split) == size == len(split.indices) == len(split.factors)
        counts = np.bincount(split.factors[:, 0], minlength=3)
        np.testing.assert_array_equal(counts, [PER_SHAPE[name]] * 3)


def test_manifest_records_distinct_images_per_shape(shapes_data):
    manifest = json.loads((shapes_data.path / cache.MANIFEST_FILE).read_text())
    assert manifest["distinct_per_shape"] == [89_007, 89_693, 92_160]
    assert manifest["num_images"] == render.NUM_IMAGES == 276_480


def test_splits_are_disjoint_and_hold_distinct_images(shapes_data):
    rows = np.concatenate([shapes_data.split(name).indices for name in shapes.SPLIT_NAMES])
    assert len(np.unique(rows)) == len(rows)
    packed = np.asarray(shapes_data.packed_grid[rows])
    assert len(np.unique(grid.row_hashes(packed))) == len(rows)
    # Every kept row is the first occurrence of its image (loop order of the grid).
    first = shapes_data.index["first_occurrence"]
    np.testing.assert_array_equal(first[rows], rows)


def test_first_occurrence_is_the_earliest_identical_row(shapes_data):
    first = shapes_data.index["first_occurrence"]
    repeats = np.flatnonzero(first != np.arange(len(first)))
    assert len(repeats) == render.NUM_IMAGES - (89_007 + 89_693 + 92_160)
    assert np.all(first[repeats] < repeats)
    assert np.all(first[repeats] // 92_160 == repeats // 92_160)  # same shape
    sample = repeats[:: max(1, len(repeats) // 200)]
    np.testing.assert_array_equal(
        shapes_data.packed_grid[sample], shapes_data.packed_grid[first[sample]]
    )
    # Every triangle is distinct; squares repeat (their 90-degree symmetry).
    assert not np.any(repeats // 92_160 == 2)


def test_splits_reproducible_by_seed_and_different_between_seeds(shapes_data, shapes_cache_dir):
    same = shapes.load(cache_dir=shapes_cache_dir, seed=0)
    other = shapes.load(cache_dir=shapes_cache_dir, seed=1)
    for name in shapes.SPLIT_NAMES:
        np.testing.assert_array_equal(same.split(name).indices, shapes_data.split(name).indices)
        assert len(other.split(name)) == SPLIT_SIZES[name]
        assert not np.array_equal(
            np.sort(other.split(name).indices), np.sort(shapes_data.split(name).indices)
        )


def test_splits_are_shuffled_across_shapes(shapes_data):
    head = shapes_data.validation.factors[:3000, 0]
    assert set(np.unique(head)) == {0, 1, 2}


def test_split_views(shapes_data):
    split = shapes_data.test
    np.testing.assert_array_equal(split.packed[:5], shapes_data.packed_grid[split.indices[:5]])
    np.testing.assert_array_equal(split.factors, render.factors_at(split.indices))
    images = split.images
    assert images.shape == (40_053, 64, 64) and len(images) == 40_053
    np.testing.assert_array_equal(images[:4], render.render(split.factors[:4]))
    np.testing.assert_array_equal(images[7], render.render(split.factors[7])[0])
    np.testing.assert_array_equal(
        images[[3, 1], 10:20, 5], render.render(split.factors[[3, 1]])[:, 10:20, 5]
    )
    lazy = shapes.PackedImages(shapes_data.packed_grid, split.indices[:3])
    assert np.asarray(lazy).shape == (3, 64, 64)


def test_split_by_name(shapes_data):
    assert shapes_data.split("train") is shapes_data.train
    with pytest.raises(ValueError, match="train"):
        shapes_data.split("valid")


def test_ground_truth_interface(shapes_data):
    assert shapes_data.num_factors == 5
    assert shapes_data.factors_num_values == [3, 16, 16, 6, 60]
    factors = shapes_data.sample_factors(500, np.random.RandomState(3))
    assert factors.dtype == np.int64 and factors.shape == (500, 5)
    assert np.all(factors >= 0) and np.all(factors < np.array(shapes_data.factors_num_values))
    assert len(np.unique(factors[:, 4])) > 50  # covers the range
    np.testing.assert_array_equal(factors, shapes_data.sample_factors(500, 3))
    observations = shapes_data.sample_observations_from_factors(factors, 0)
    assert observations.dtype == np.float32 and observations.shape == (500, 64, 64, 1)
    np.testing.assert_array_equal(observations[..., 0], render.render(factors))


def test_factors_of_gives_first_occurrence(shapes_data):
    factors = shapes_data.sample_factors(2000, 7)
    found = shapes_data.factors_of(shapes_data.images_of(factors))
    first = shapes_data.index["first_occurrence"][render.grid_index(factors)]
    np.testing.assert_array_equal(found, render.factors_at(first))
    np.testing.assert_array_equal(shapes_data.grid_index(found), first)
    kept = factors[first == render.grid_index(factors)]
    assert len(kept) > 1900
    np.testing.assert_array_equal(shapes_data.factors_of(shapes_data.images_of(kept)), kept)
    # A square turned by 90 degrees (rotation 30) is the unturned square one row lower.
    turned = shapes_data.images_of([[0, 4, 5, 0, 30]])[..., None]
    np.testing.assert_array_equal(shapes_data.factors_of(turned), [[0, 4, 4, 0, 0]])


def test_factors_of_split_images(shapes_data):
    split = shapes_data.validation
    np.testing.assert_array_equal(shapes_data.factors_of(split.images[:300]), split.factors[:300])


def test_factors_of_rejects_images_outside_the_grid(shapes_data):
    image = shapes_data.images_of([[1, 3, 3, 2, 10]])
    image[0, 0, 0] = 1 - image[0, 0, 0]
    with pytest.raises(ValueError, match="not shapes images"):
        shapes_data.factors_of(image)
    with pytest.raises(ValueError, match="0 and 1"):
        shapes_data.factors_of(np.full((1, 64, 64), 0.5))
    with pytest.raises(ValueError, match=r"\(num, 64, 64\)"):
        shapes_data.factors_of(np.zeros((64, 64)))


def test_bad_arguments_raise(shapes_data, shapes_cache_dir):
    with pytest.raises(ValueError, match="rotation = 60"):
        shapes_data.images_of([[0, 0, 0, 0, 60]])
    with pytest.raises(ValueError, match=r"shape \(num, 5\)"):
        shapes_data.grid_index(np.zeros((3, 4), int))
    with pytest.raises(ValueError, match="num"):
        shapes_data.sample_factors(-1, 0)
    with pytest.raises(ValueError, match="seed"):
        shapes.load(cache_dir=shapes_cache_dir, seed=-1)
