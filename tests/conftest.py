"""Shared fixtures: the real shapes grid in a temporary cache and the real MNIST file."""

import os
import pathlib
import shutil

import pytest

# `precision="auto"` and `jit_compile="auto"` (the zoo's defaults) are resolved by
# `bvae_tf.speed.resolve`, whose first use on a machine trains every candidate for about a
# minute (the probe). No test may start it silently, nor depend on what it measures, so the
# session pins both through the override variables, which subprocesses (the CLI tests)
# inherit too. A test that wants the probe or "auto" removes them with
# `monkeypatch.delenv` (tests/test_speed.py does).
os.environ["BVAE_TF_PRECISION"] = "float32"
os.environ["BVAE_TF_JIT_COMPILE"] = "false"

SHARED_MNIST = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist.npz"


@pytest.fixture(scope="session")
def shapes_cache_dir(tmp_path_factory):
    """A cache directory private to this test session."""
    return tmp_path_factory.mktemp("shapes_cache")


@pytest.fixture(scope="session")
def shapes_data(shapes_cache_dir):
    """The real shapes grid and splits (seed 0), built once per session."""
    from bvae_tf.data import shapes

    return shapes.load(cache_dir=shapes_cache_dir, seed=0)


def _keras_cache_mnist():
    keras_home = pathlib.Path(os.environ.get("KERAS_HOME", pathlib.Path.home() / ".keras"))
    return keras_home / "datasets" / "mnist.npz"


@pytest.fixture(scope="session")
def mnist_npz(tmp_path_factory):
    """Path of the real mnist.npz (the file Keras downloads), copied into a temporary dir."""
    for candidate in (os.environ.get("BVAE_TF_MNIST"), _keras_cache_mnist(), SHARED_MNIST):
        if candidate and pathlib.Path(candidate).is_file():
            target = tmp_path_factory.mktemp("mnist") / "mnist.npz"
            shutil.copyfile(candidate, target)
            return target
    pytest.fail(
        "The tests need the real mnist.npz: put it in the Keras cache (~/.keras/datasets) "
        "or set BVAE_TF_MNIST (.ci/run copies ../shared/data/mnist.npz)."
    )


@pytest.fixture
def dsprites_file(tmp_path):
    """A small dSprites npz of the real layout (tests/ground_truth_files.py) and its images."""
    import ground_truth_files

    return ground_truth_files.write_dsprites(tmp_path / "dsprites_small.npz")


@pytest.fixture
def shapes3d_file(tmp_path):
    """A small 3dshapes.h5 of the real layout (tests/ground_truth_files.py) and its images."""
    import ground_truth_files

    return ground_truth_files.write_shapes3d(tmp_path / "3dshapes_small.h5")
