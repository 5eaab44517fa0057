"""The pipelines of a zoo entry, and `bvae-tf train` end to end on MNIST."""

import json

import keras
import numpy as np
import pytest

from bvae_tf import cli
from bvae_tf.data import mnist
from bvae_tf.experiments import pipelines


class _PackedSplit:
    """A stand-in ShapesSplit: random bit-packed 64x64 images."""

    image_shape = (64, 64, 1)

    def __init__(self, num, seed):
        rng = np.random.default_rng(seed)
        self.packed = np.packbits(rng.random((num, 64 * 64)) < 0.1, axis=1)

    def __len__(self):
        return len(self.packed)


class _ShapesLike:
    def __init__(self, num_train, num_validation):
        self.train = _PackedSplit(num_train, 0)
        self.validation = _PackedSplit(num_validation, 1)


def _count(dataset):
    return sum(int(inputs.shape[0]) for inputs, _ in dataset)


def _noisy(dataset):
    return [not np.array_equal(inputs, targets) for inputs, targets in dataset]


@pytest.mark.parametrize("entry, noisy", [("fc", False), ("conv_denoising", True)])
def test_shapes_pipelines(entry, noisy):
    data = _ShapesLike(500, 300)
    train, validation = pipelines.make_datasets(data, entry, seed=1, train_fraction=0.5,
                                                batch_size=100, validation_size=250)
    assert (_count(train), _count(validation)) == (250, 250)
    assert all(flag == noisy for flag in _noisy(train) + _noisy(validation))
    first, second = ([np.array(targets) for _, targets in validation] for _ in range(2))
    np.testing.assert_array_equal(first[0], second[0])  # validation keeps its order
    _, validation = pipelines.make_datasets(data, entry, batch_size=100)
    assert _count(validation) == 300  # min(40,000, all)


def test_mnist_pipelines(mnist_npz):
    data = mnist.load_mnist(mnist_npz)
    train, validation = pipelines.make_datasets(data, "mnist_conv", seed=0,
                                                train_fraction=0.01, batch_size=100)
    counts = np.bincount(data.train.labels, minlength=10)
    assert _count(train) == sum(round(0.01 * count) for count in counts)
    assert _count(validation) == 5000
    inputs, targets = next(iter(train))
    assert inputs.shape[1:] == (28, 28, 1) and np.array_equal(inputs, targets)
    assert 0 < float(np.mean(inputs)) < 1 and len(np.unique(inputs)) > 2  # grey, not binary


def test_wrong_data_and_fraction_are_refused(mnist_npz):
    with pytest.raises(ValueError, match="trains on the shapes dataset"):
        pipelines.make_datasets(mnist.load_mnist(mnist_npz), "fc")
    with pytest.raises(ValueError, match="MNIST zoo entries train on MNIST"):
        pipelines.make_datasets(_ShapesLike(10, 10), "mnist_fc")
    with pytest.raises(ValueError, match=r"train_fraction must be None or in \(0, 1\]"):
        pipelines.make_datasets(_ShapesLike(10, 10), "fc", train_fraction=1.5)
    with pytest.raises(ValueError, match="choose one of"):
        pipelines.make_datasets(_ShapesLike(10, 10), "resnet")


@pytest.mark.slow
def test_train_command_writes_model_encoder_and_history(mnist_npz, tmp_path, monkeypatch):
    monkeypatch.setenv("BVAE_TF_MNIST", str(mnist_npz))
    out = tmp_path / "run"
    code = cli.main(["train", "--model", "mnist_fc", "--beta", "2", "--seed", "1", "--out",
                     str(out), "--max-epochs", "2", "--train-fraction", "0.01",
                     "--validation-size", "1000"])
    assert code == 0
    summary = json.loads((out / "history.json").read_text())
    assert (summary["entry"], summary["beta"], summary["seed"], summary["epochs"]) == (
        "mnist_fc", 2.0, 1, 2)
    validation = summary["history"]["val_loss"]
    assert summary["best_epoch"] == 1 + int(np.argmin(validation))
    assert {"val_reconstruction_loss", "val_kl_loss"} <= set(summary["history"])
    model = keras.models.load_model(out / "model.keras")
    assert (model.beta, model.latent_dim) == (2.0, 16)
    assert (out / "saved_model" / "mnist_fc" / "1" / "saved_model.pb").is_file()
    assert (out / "logs" / "training.csv").is_file()


def test_train_command_names_the_zoo_on_an_unknown_model(tmp_path, capsys):
    code = cli.main(["train", "--model", "vgg", "--beta", "1", "--out", str(tmp_path)])
    assert code == 2
    assert "choose one of fc, conv, fc_denoising" in capsys.readouterr().err
