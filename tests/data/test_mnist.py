"""Tests of bvae_tf.data.mnist: the paper's split, per-class subsets, offline error paths."""

import hashlib
import shutil

import keras
import numpy as np
import pytest
from keras.src.datasets import mnist as keras_mnist_module

from bvae_tf.data import mnist

UNREACHABLE_ORIGIN = "http://127.0.0.1:9/mnist.npz"


@pytest.fixture(scope="module")
def mnist_data(mnist_npz):
    return mnist.load_mnist(mnist_npz)


@pytest.fixture(scope="module")
def keras_arrays(mnist_npz):
    with np.load(mnist_npz) as arrays:
        return {name: arrays[name] for name in ("x_train", "y_train", "x_test", "y_test")}


@pytest.fixture
def keras_offline(monkeypatch, tmp_path):
    """Makes `keras.datasets.mnist.load_data` use an empty cache and an unreachable origin.

    The real `keras.utils.get_file` runs: it looks in `<tmp_path>/datasets/` and, finding
    nothing, really tries to download from a closed local port. Returns the cache directory.
    """
    monkeypatch.delenv(mnist.ENVIRONMENT_VARIABLE, raising=False)
    real_get_file = keras.utils.get_file

    def get_file(**kwargs):
        kwargs.update(origin=UNREACHABLE_ORIGIN, cache_dir=str(tmp_path))
        return real_get_file(**kwargs)

    monkeypatch.setattr(keras_mnist_module, "get_file", get_file)
    return tmp_path


def test_split_sizes_shapes_and_dtypes(mnist_data):
    sizes = {name: len(mnist_data.split(name)) for name in ("train", "validation", "test")}
    assert sizes == {"train": 55000, "validation": 5000, "test": 10000}
    for name in ("train", "validation", "test"):
        split = mnist_data.split(name)
        assert split.images.shape == (len(split), 28, 28, 1)
        assert split.images.dtype == np.float32
        assert split.labels.shape == (len(split),)
        assert np.issubdtype(split.labels.dtype, np.integer)


def to_uint8(images):
    return np.round(images[..., 0] * 255).astype(np.uint8)


def test_validation_is_the_first_5000_keras_training_images(mnist_data, keras_arrays):
    np.testing.assert_array_equal(
        to_uint8(mnist_data.validation.images), keras_arrays["x_train"][:5000]
    )
    np.testing.assert_array_equal(mnist_data.validation.labels, keras_arrays["y_train"][:5000])
    np.testing.assert_array_equal(
        to_uint8(mnist_data.train.images), keras_arrays["x_train"][5000:]
    )
    np.testing.assert_array_equal(mnist_data.train.labels, keras_arrays["y_train"][5000:])
    np.testing.assert_array_equal(to_uint8(mnist_data.test.images), keras_arrays["x_test"])
    np.testing.assert_array_equal(mnist_data.test.labels, keras_arrays["y_test"])


def test_images_are_grey_levels_in_unit_interval(mnist_data):
    images = mnist_data.test.images
    assert images.min() == 0.0 and images.max() == 1.0
    grey = np.mean((images > 0) & (images < 1))
    assert grey > 0.05, "images look binarised; the paper used grey levels"
    np.testing.assert_allclose(images[0, 7, 7:12, 0] * 255, np.round(images[0, 7, 7:12, 0] * 255))


def test_unknown_split_name_raises(mnist_data):
    with pytest.raises(ValueError, match="'train', 'validation' or 'test'"):
        mnist_data.split("valid")


def test_environment_variable_is_used(monkeypatch, mnist_npz, mnist_data):
    monkeypatch.setenv(mnist.ENVIRONMENT_VARIABLE, str(mnist_npz))
    loaded = mnist.load_mnist()
    np.testing.assert_array_equal(loaded.validation.labels, mnist_data.validation.labels)


def test_keras_cache_is_used_offline(keras_offline, mnist_npz, mnist_data):
    (keras_offline / "datasets").mkdir()
    shutil.copyfile(mnist_npz, keras_offline / "datasets" / "mnist.npz")
    loaded = mnist.load_mnist()
    np.testing.assert_array_equal(loaded.test.labels, mnist_data.test.labels)


def test_missing_file_offline_names_both_offline_ways(keras_offline):
    with pytest.raises(FileNotFoundError) as raised:
        mnist.load_mnist()
    message = str(raised.value)
    assert "could not download" in message
    assert mnist.ENVIRONMENT_VARIABLE in message
    assert "datasets/mnist.npz" in message and "Keras cache" in message
    assert not (keras_offline / "datasets" / "mnist.npz").exists()


@pytest.mark.parametrize("use_environment", [False, True])
def test_missing_local_file_raises(monkeypatch, tmp_path, use_environment):
    missing = tmp_path / "nowhere" / "mnist.npz"
    monkeypatch.delenv(mnist.ENVIRONMENT_VARIABLE, raising=False)
    if use_environment:
        monkeypatch.setenv(mnist.ENVIRONMENT_VARIABLE, str(missing))
    source = mnist.ENVIRONMENT_VARIABLE if use_environment else "path argument"
    with pytest.raises(FileNotFoundError, match=source) as raised:
        mnist.load_mnist(None if use_environment else missing)
    assert str(missing) in str(raised.value)
    assert "Keras cache" in str(raised.value)


@pytest.mark.parametrize("use_environment", [False, True])
def test_wrong_checksum_names_expected_and_found(monkeypatch, tmp_path, use_environment):
    wrong = tmp_path / "mnist.npz"
    np.savez(wrong, x_train=np.zeros((2, 28, 28), np.uint8), y_train=np.zeros(2, np.uint8))
    found = hashlib.sha256(wrong.read_bytes()).hexdigest()
    if use_environment:
        monkeypatch.setenv(mnist.ENVIRONMENT_VARIABLE, str(wrong))
    with pytest.raises(ValueError) as raised:
        mnist.load_mnist(None if use_environment else wrong)
    message = str(raised.value)
    assert found in message and mnist.MNIST_SHA256 in message
    assert mnist.ENVIRONMENT_VARIABLE in message and "Keras cache" in message


@pytest.mark.parametrize("fraction", [0.1, 0.3, 1.0])
@pytest.mark.parametrize("rounding", ["floor", "round"])
def test_subset_per_class_sizes(mnist_data, fraction, rounding):
    labels = mnist_data.train.labels
    indices = mnist.subset_per_class(labels, fraction, random_state=0, rounding=rounding)
    assert indices.dtype == np.int64
    assert len(np.unique(indices)) == len(indices)
    size = int if rounding == "floor" else round  # the authors: int(fraction * count)
    expected = [size(fraction * count) for count in np.bincount(labels)]
    assert np.bincount(labels[indices], minlength=10).tolist() == expected


def test_the_default_subset_is_the_authors_floor(mnist_data):
    labels = mnist_data.train.labels
    counts = np.bincount(labels[mnist.subset_per_class(labels, 0.1, random_state=0)])
    assert counts.tolist() == [int(0.1 * count) for count in np.bincount(labels)]
    assert counts.tolist() != [round(0.1 * count) for count in np.bincount(labels)]
    with pytest.raises(ValueError, match="rounding must be one of"):
        mnist.subset_per_class(labels, 0.1, 0, rounding="ceil")


def test_subset_per_class_is_reproducible(mnist_data):
    labels = mnist_data.train.labels
    first = mnist.subset_per_class(labels, 0.1, random_state=3)
    again = mnist.subset_per_class(labels, 0.1, random_state=np.random.RandomState(3))
    other = mnist.subset_per_class(labels, 0.1, random_state=4)
    np.testing.assert_array_equal(first, again)
    assert len(np.intersect1d(first, other)) < 0.3 * len(first)


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, float("nan"), "0.1", True])
def test_subset_per_class_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        mnist.subset_per_class(np.arange(10), fraction, random_state=0)


def test_subset_per_class_rejects_two_dimensional_labels():
    with pytest.raises(ValueError, match="one-dimensional"):
        mnist.subset_per_class(np.zeros((4, 2), int), 0.5, random_state=0)
