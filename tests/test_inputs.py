"""The data and pipelines of a zoo entry (`bvae_tf.inputs`), and `bvae-tf train` on MNIST."""

import json

import keras
import numpy as np
import pytest

from bvae_tf import cli, inputs, results
from bvae_tf.data import mnist


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
    return sum(int(batch.shape[0]) for batch, _ in dataset)


def _noisy(dataset):
    return [not np.array_equal(batch, targets) for batch, targets in dataset]


@pytest.mark.parametrize("entry, noisy", [("fc", False), ("conv_denoising", True)])
def test_shapes_pipelines(entry, noisy):
    data = _ShapesLike(500, 300)
    train, validation = inputs.make_datasets(data, entry, seed=1, train_fraction=0.5,
                                                batch_size=100, validation_size=250)
    assert (_count(train), _count(validation)) == (250, 250)
    assert all(flag == noisy for flag in _noisy(train) + _noisy(validation))
    first, second = ([np.array(targets) for _, targets in validation] for _ in range(2))
    np.testing.assert_array_equal(first[0], second[0])  # validation keeps its order
    _, validation = inputs.make_datasets(data, entry, batch_size=100)
    assert _count(validation) == 300  # min(40,000, all)


@pytest.mark.parametrize("entry", ["conv_denoising", "mnist_fc"])
def test_on_device_the_datasets_are_device_batches_of_the_same_batches(entry, mnist_npz):
    from bvae_tf.data import pipeline

    data = _ShapesLike(500, 300) if entry != "mnist_fc" else mnist.load_mnist(mnist_npz)
    options = {"seed": 1, "train_fraction": 0.5 if entry != "mnist_fc" else 0.01,
               "batch_size": 100, "validation_size": 250}
    on_host = inputs.make_datasets(data, entry, **options)
    on_device = inputs.make_datasets(data, entry, on_device=True, **options)
    for host, device in zip(on_host, on_device):
        assert isinstance(device, pipeline.DeviceBatches) and len(device) == len(host)
        for (inputs_, targets), ticket in zip(host, device.tickets()):
            drawn_inputs, drawn_targets = device(ticket)
            np.testing.assert_array_equal(drawn_inputs, inputs_)
            np.testing.assert_array_equal(drawn_targets, targets)


def test_the_input_pipeline_is_the_device_exactly_when_there_is_a_gpu():
    import tensorflow as tf

    expected = "device" if tf.config.list_physical_devices("GPU") else "host"
    assert inputs.input_pipeline("auto") == expected
    assert [inputs.input_pipeline(choice) for choice in ("host", "device")] == ["host",
                                                                                "device"]
    with pytest.raises(ValueError, match="input_pipeline must be"):
        inputs.input_pipeline("gpu")


def test_mnist_pipelines(mnist_npz):
    data = mnist.load_mnist(mnist_npz)
    train, validation = inputs.make_datasets(data, "mnist_conv", seed=0,
                                                train_fraction=0.01, batch_size=100)
    counts = np.bincount(data.train.labels, minlength=10)
    assert _count(train) == sum(int(0.01 * count) for count in counts)  # the authors' floor
    assert _count(validation) == 5000
    batch, targets = next(iter(train))
    assert batch.shape[1:] == (28, 28, 1) and np.array_equal(batch, targets)
    assert 0 < float(np.mean(batch)) < 1 and len(np.unique(batch)) > 2  # grey, not binary


def test_wrong_data_and_fraction_are_refused(mnist_npz):
    with pytest.raises(ValueError, match="trains on the shapes dataset"):
        inputs.make_datasets(mnist.load_mnist(mnist_npz), "fc")
    with pytest.raises(ValueError, match="MNIST zoo entries train on MNIST"):
        inputs.make_datasets(_ShapesLike(10, 10), "mnist_fc")
    with pytest.raises(ValueError, match=r"train_fraction must be None or in \(0, 1\]"):
        inputs.make_datasets(_ShapesLike(10, 10), "fc", train_fraction=1.5)
    with pytest.raises(ValueError, match="choose one of"):
        inputs.make_datasets(_ShapesLike(10, 10), "resnet")


@pytest.mark.slow
def test_train_command_is_the_trial_runner_on_one_point(mnist_npz, tmp_path, monkeypatch):
    monkeypatch.setenv("BVAE_TF_MNIST", str(mnist_npz))
    out = tmp_path / "run"
    code = cli.main(["train", "--model", "mnist_fc", "--beta", "2", "--seed", "1", "--results",
                     str(out), "--max-epochs", "2", "--train-fraction", "0.01",
                     "--validation-size", "1000"])
    assert code == 0
    (record,) = results.read_records(out)
    assert (record["entry"], record["beta"], record["seed"], record["epochs"]) == (
        "mnist_fc", 2.0, 1, 2)
    assert record["trial_name"] == "mnist_fc-frac0.01-beta2.0-seed1"
    history = json.loads((out / record["model_path"]).with_name("history.json").read_text())
    assert record["best_epoch"] == 1 + int(np.argmin(history["val_loss"]))
    assert {"val_reconstruction_loss", "val_kl_loss"} <= set(history)
    assert 0.0 < record["metrics"]["svm_accuracy"] <= 1.0
    model = keras.models.load_model(out / record["model_path"])
    assert (model.beta, model.latent_dim) == (2.0, 16)
    assert (out / record["encoder_path"] / "saved_model.pb").is_file()
    assert (out / record["model_path"]).with_name("logs").joinpath("training.csv").is_file()


def test_train_command_names_the_zoo_on_an_unknown_model(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--model", "vgg", "--beta", "1", "--results", str(tmp_path / "d")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "argument --model: invalid choice: 'vgg'" in error and "mnist_conv" in error
    assert not (tmp_path / "d").exists()
