"""The 3D Shapes loader on small files of the real layout (tests/ground_truth_files.py)."""

import ground_truth_files
import h5py
import numpy as np
import pytest

from bvae_tf.data import ground_truth, shapes3d

CHECKSUM = "0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785"


@pytest.mark.parametrize("in_memory", [False, True])
def test_a_file_of_the_real_layout_loads(shapes3d_file, in_memory):
    path, images = shapes3d_file
    data = shapes3d.load(path, verify=False, in_memory=in_memory)
    assert isinstance(data, ground_truth.GroundTruthData)
    assert data.factor_names == shapes3d.FACTOR_NAMES
    assert data.factors_num_values == list(ground_truth_files.SHAPES3D_SIZES)
    assert data.observation_shape == [64, 64, 3]
    factors = data.sample_factors(40, np.random.RandomState(0))
    factors[1] = factors[0]  # a repeated row is read once and copied
    rows = np.ravel_multi_index(tuple(factors.T), ground_truth_files.SHAPES3D_SIZES)
    np.testing.assert_array_equal(data.images_of(factors), images[rows])
    observations = data.sample_observations_from_factors(factors, None)
    assert observations.dtype == np.float32 and observations.shape == (40, 64, 64, 3)
    np.testing.assert_allclose(observations, images[rows] / 255.0, atol=1e-6)
    np.testing.assert_allclose(data.factor_values[5], [-30.0, 0.0, 30.0])


def test_the_file_is_found_by_the_variable(shapes3d_file, monkeypatch):
    monkeypatch.setenv("BVAE_TF_3DSHAPES", str(shapes3d_file[0]))
    assert shapes3d.load(verify=False).path == shapes3d_file[0]


def test_a_missing_file_names_the_cache_path_the_variable_and_the_origin(tmp_path,
                                                                         monkeypatch):
    monkeypatch.delenv("BVAE_TF_3DSHAPES", raising=False)
    with pytest.raises(FileNotFoundError) as error:
        shapes3d.load(cache_dir=tmp_path)
    message = str(error.value)
    assert f"No 3D Shapes file at {tmp_path / '3dshapes.h5'} (the cache directory)" in message
    assert "BVAE_TF_3DSHAPES" in message and CHECKSUM in message
    assert "https://storage.googleapis.com/3d-shapes/3dshapes.h5" in message


def test_a_file_that_is_not_the_original_fails_its_checksum(shapes3d_file):
    with pytest.raises(ValueError, match=rf"its sha256 is [0-9a-f]{{64}}, expected {CHECKSUM}"):
        shapes3d.load(shapes3d_file[0])


@pytest.mark.parametrize("damage", ["not_hdf5", "shuffled", "no_labels", "grey"])
def test_a_file_of_another_layout_is_named(tmp_path, damage):
    path = tmp_path / "broken.h5"
    if damage == "not_hdf5":
        path.write_bytes(b"not an HDF5 file")
    else:
        _, images = ground_truth_files.write_shapes3d(path)
        with h5py.File(path, "r+") as archive:
            if damage == "shuffled":
                archive["labels"][...] = archive["labels"][:][::-1]
            elif damage == "no_labels":
                del archive["labels"]
            else:
                del archive["images"]
                archive.create_dataset("images", data=images[..., :1])
    with pytest.raises(ValueError, match="does not have the layout of 3dshapes.h5") as error:
        shapes3d.load(path, verify=False)
    assert str(path) in str(error.value) and "BVAE_TF_3DSHAPES" in str(error.value)
