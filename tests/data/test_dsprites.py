"""The dSprites loader on small files of the real layout (tests/ground_truth_files.py)."""

import ground_truth_files
import numpy as np
import pytest

from bvae_tf.data import dsprites, ground_truth

CHECKSUM = "7da33b31b13a06f4b04a70402ce90c2e"


def test_a_file_of_the_real_layout_loads_without_its_constant_color(dsprites_file):
    path, images = dsprites_file
    data = dsprites.load(path, verify=False)
    assert isinstance(data, ground_truth.GroundTruthData)
    assert data.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert data.factors_num_values == list(ground_truth_files.DSPRITES_SIZES[1:])
    assert data.observation_shape == [64, 64, 1]
    factors = data.sample_factors(50, np.random.RandomState(0))
    rows = np.ravel_multi_index(tuple(factors.T), ground_truth_files.DSPRITES_SIZES[1:])
    np.testing.assert_array_equal(data.images_of(factors), images[rows])
    observations = data.sample_observations_from_factors(factors, None)
    assert observations.dtype == np.float32 and observations.shape == (50, 64, 64, 1)
    np.testing.assert_array_equal(observations[..., 0], images[rows])


def test_the_file_is_found_by_the_variable_then_the_cache(dsprites_file, tmp_path, monkeypatch):
    monkeypatch.setenv("BVAE_TF_DSPRITES", str(dsprites_file[0]))
    assert dsprites.load(verify=False).path == dsprites_file[0]
    monkeypatch.delenv("BVAE_TF_DSPRITES")
    cached = tmp_path / "cache" / dsprites.FILE_NAME
    cached.parent.mkdir()
    cached.write_bytes(dsprites_file[0].read_bytes())
    assert dsprites.load(cache_dir=tmp_path / "cache", verify=False).path == cached


def test_a_missing_file_names_the_path_the_variable_and_the_origin(tmp_path, monkeypatch):
    monkeypatch.setenv("BVAE_TF_DSPRITES", str(tmp_path / "nowhere.npz"))
    with pytest.raises(FileNotFoundError) as error:
        dsprites.load()
    message = str(error.value)
    assert f"No dSprites file at {tmp_path / 'nowhere.npz'} (BVAE_TF_DSPRITES)" in message
    assert "github.com/google-deepmind/dsprites-dataset" in message and CHECKSUM in message


def test_a_file_that_is_not_the_original_fails_its_checksum(dsprites_file):
    with pytest.raises(ValueError, match=rf"its md5 is [0-9a-f]{{32}}, expected {CHECKSUM}"):
        dsprites.load(dsprites_file[0])


@pytest.mark.parametrize("damage", ["truncated", "shuffled", "no_images", "grey"])
def test_a_file_of_another_layout_is_named(tmp_path, damage):
    path = tmp_path / "broken.npz"
    if damage == "truncated":
        ground_truth_files.write_dsprites(path)
        path.write_bytes(path.read_bytes()[:5_000])
    else:
        classes = ground_truth_files.grid(ground_truth_files.DSPRITES_SIZES)
        images = np.zeros((len(classes), 64, 64), np.uint8)
        arrays = {"shuffled": {"imgs": images, "latents_classes": classes[::-1]},
                  "no_images": {"latents_classes": classes},
                  "grey": {"imgs": images + 7, "latents_classes": classes}}[damage]
        np.savez(path, **arrays)
    with pytest.raises(ValueError, match="does not have the layout of dsprites_ndarray") as error:
        dsprites.load(path, verify=False)
    assert str(path) in str(error.value) and "BVAE_TF_DSPRITES" in str(error.value)
