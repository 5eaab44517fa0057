"""The ground-truth protocol, the grid base class, and data by name or file."""

import ground_truth_files
import numpy as np
import pytest

from bvae_tf.data import catalog, dsprites, ground_truth, shapes3d


def test_the_shapes_data_is_ground_truth_data_with_named_factors(shapes_data):
    assert isinstance(shapes_data, ground_truth.GroundTruthData)
    assert ground_truth.factor_names_of(shapes_data) == ("shape", "pos_x", "pos_y", "scale",
                                                         "rotation")
    assert ground_truth.factor_index(shapes_data, "rotation") == 4


def test_an_object_without_the_members_is_not_ground_truth_data():
    assert not isinstance(object(), ground_truth.GroundTruthData)


def test_an_array_grid_of_colour_images_of_any_size():
    data = ground_truth.ArrayGrid(np.arange(6 * 5 * 7 * 3).reshape(6, 5, 7, 3) % 256,
                                  (2, 3), ("size", "hue"), scale=1 / 255)
    assert data.observation_shape == [5, 7, 3] and data.num_factors == 2
    observations = data.sample_observations_from_factors(data.sample_factors(4, 0), 0)
    assert observations.shape == (4, 5, 7, 3) and observations.max() <= 1.0


@pytest.mark.parametrize("factors, match", [
    ([[0, 3]], r"hue = 3, out of range 0..2"),
    ([[0.5, 1]], r"integers of shape \(num, 2\), columns \['size', 'hue'\]"),
    ([[0, 1, 2]], r"got shape \(1, 3\)"),
])
def test_bad_factors_are_named(factors, match):
    data = ground_truth.ArrayGrid(np.zeros((6, 2, 2)), (2, 3), ("size", "hue"))
    with pytest.raises(ValueError, match=match):
        data.images_of(factors)


@pytest.mark.parametrize("arguments, match", [
    ((np.zeros((5, 2, 2)), (2, 3), ("size", "hue")), "one image per factor tuple"),
    ((np.zeros((6, 2, 2)), (2, 3), ("size", "size")), "`factor_names` must be 2 distinct"),
    ((np.zeros((6, 2, 2)), (2, 3), ("size",)), "`factor_names` must be 2 distinct"),
    ((np.zeros((6, 2, 2)), (6, 0), ("size", "hue")), "`factors_num_values` must be"),
])
def test_a_bad_array_grid_is_refused(arguments, match):
    with pytest.raises(ValueError, match=match):
        ground_truth.ArrayGrid(*arguments)


def test_unnamed_data_gets_positional_names():
    class Unnamed:
        num_factors = 2

    assert ground_truth.factor_names_of(Unnamed()) == ("factor_0", "factor_1")
    assert ground_truth.factor_index(Unnamed(), "factor_1") == 1
    with pytest.raises(ValueError, match=r"index 0..1, got 2"):
        ground_truth.factor_index(Unnamed(), 2)


def test_data_by_name_or_by_file(dsprites_file, shapes3d_file, monkeypatch):
    assert isinstance(catalog.load_ground_truth(dsprites_file[0]), dsprites.DSpritesData)
    assert isinstance(catalog.load_ground_truth(str(shapes3d_file[0])), shapes3d.Shapes3DData)
    monkeypatch.setenv("BVAE_TF_DSPRITES", str(dsprites_file[0]))
    with pytest.raises(ValueError, match="is not the original"):  # by name: checked
        catalog.load_ground_truth("dsprites")
    with pytest.raises(ValueError, match=r"Unknown data 'x.csv': give one of \['shapes'"):
        catalog.load_ground_truth("x.csv")


def test_the_toy_data_has_its_known_layout():
    data = ground_truth_files.toy_data()
    factors = np.array([[2, 3, 4], [0, 0, 0]])
    np.testing.assert_allclose(ground_truth_files.identity_encoder(data.images_of(factors)),
                               [[1, 1, 1], [0, 0, 0]])
