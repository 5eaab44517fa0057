"""Tests of bvae_tf.experiments.mnist: the SVM on codes and one trial of the MNIST study."""

import json

import numpy as np
import pytest
import sklearn.svm

from bvae_tf.data import mnist as mnist_data
from bvae_tf.experiments import mnist as experiment

RECORD_KEYS = {
    "study", "trial_name", "entry", "beta", "seed", "fraction", "config", "versions",
    "epochs", "best_epoch", "wall_time_s", "losses", "metrics", "model_path", "encoder_path",
}  # fmt: skip
# Quick settings of the acceptance test: 10 epochs at batch 100 (550 updates). At the paper's
# batch of 1000, 10 epochs (60 updates) leave beta = 1 at 0.60 accuracy.
ACCEPTANCE_MAX_EPOCHS = 10
ACCEPTANCE_BATCH_SIZE = 100


@pytest.fixture(scope="module")
def mnist(mnist_npz):
    return mnist_data.load_mnist(mnist_npz)


@pytest.fixture(scope="module")
def small_mnist(mnist):
    """MNIST with 1,000 validation and 1,000 test images, for quick trials."""
    return mnist_data.MnistData(
        train=mnist.train,
        validation=mnist_data.MnistSplit(
            mnist.validation.images[:1000], mnist.validation.labels[:1000]
        ),
        test=mnist_data.MnistSplit(mnist.test.images[:1000], mnist.test.labels[:1000]),
    )


def labelled_codes(num_points, latent_dim, random_state):
    labels = random_state.randint(10, size=num_points)
    codes = np.zeros((num_points, latent_dim))
    codes[np.arange(num_points), labels] = 1.0
    return codes, labels


def test_svm_on_one_hot_codes_plus_noise_is_nearly_perfect():
    random_state = np.random.RandomState(0)
    train_codes, train_labels = labelled_codes(2000, 16, random_state)
    test_codes, test_labels = labelled_codes(1000, 16, random_state)
    train_codes += random_state.normal(scale=0.1, size=train_codes.shape)
    test_codes += random_state.normal(scale=0.1, size=test_codes.shape)
    accuracy = experiment.fit_svm_on_codes(train_codes, train_labels, test_codes, test_labels, 16)
    assert accuracy >= 0.99


def test_svm_on_random_codes_is_at_chance():
    random_state = np.random.RandomState(1)
    train_labels = random_state.randint(10, size=2000)
    test_labels = random_state.randint(10, size=2000)
    accuracy = experiment.fit_svm_on_codes(
        random_state.normal(size=(2000, 16)),
        train_labels,
        random_state.normal(size=(2000, 16)),
        test_labels,
        16,
    )
    assert 0.05 <= accuracy <= 0.15


def test_svm_is_the_papers_rbf_svc_with_gamma_one_over_latent_dim():
    random_state = np.random.RandomState(2)
    codes = random_state.normal(scale=2.0, size=(600, 16))
    labels = (np.sin(codes[:, 0]) + 0.5 * codes[:, 1] > 0).astype(int)
    splits = (codes[:300], labels[:300], codes[300:], labels[300:])

    def sklearn_accuracy(gamma):
        classifier = sklearn.svm.SVC(kernel="rbf", C=1.0, gamma=gamma).fit(*splits[:2])
        return classifier.score(*splits[2:])

    accuracy = experiment.fit_svm_on_codes(*splits, latent_dim=16)
    assert accuracy == sklearn_accuracy(1 / 16)
    assert accuracy != sklearn_accuracy("scale") and accuracy != sklearn_accuracy(1.0)
    with pytest.raises(ValueError, match="latent_dim=8"):
        experiment.fit_svm_on_codes(*splits, latent_dim=8)


@pytest.mark.parametrize(
    ("train_shape", "label_shape", "message"),
    [((10, 16, 1), (10,), "train_codes must have shape"), ((10, 16), (9,), "train_labels")],
)
def test_svm_rejects_mismatched_shapes(train_shape, label_shape, message):
    with pytest.raises(ValueError, match=message):
        experiment.fit_svm_on_codes(
            np.zeros(train_shape), np.zeros(label_shape), np.zeros((5, 16)), np.zeros(5), 16
        )


def test_run_trial_rejects_a_shapes_entry(small_mnist):
    with pytest.raises(ValueError, match="mnist_fc"):
        experiment.run_trial("conv", 0.1, beta=1.0, seed=0, mnist=small_mnist)


@pytest.mark.slow
def test_run_trial_writes_model_history_and_encoder(small_mnist, tmp_path):
    from bvae_tf import export

    record = experiment.run_trial(
        "mnist_fc", 0.02, beta=1.0, seed=0, mnist=small_mnist, results_dir=tmp_path, max_epochs=2
    )
    assert set(record) == RECORD_KEYS
    assert record["study"] == "mnist" and record["trial_name"] == "mnist_fc-frac0.02-beta1.0-seed0"
    assert record["fraction"] == 0.02 and record["config"]["num_train_images"] == 1100
    assert record["epochs"] == 2 and record["best_epoch"] in (1, 2)
    assert set(record["losses"]["validation"]) == {"loss", "reconstruction_loss", "kl_loss"}
    assert 0.0 <= record["metrics"]["svm_accuracy"] <= 1.0
    assert record["model_path"] == "models/mnist/mnist_fc-frac0.02-beta1.0-seed0/model.keras"
    assert record["encoder_path"] == "saved_models/mnist_fc/mnist_fc-frac0.02-beta1.0-seed0/1"
    assert (tmp_path / record["model_path"]).is_file()
    history = json.loads((tmp_path / record["model_path"]).with_name("history.json").read_text())
    assert len(history["val_loss"]) == 2
    best = record["best_epoch"] - 1
    assert history["val_loss"][best] == min(history["val_loss"])
    assert record["losses"]["validation"]["loss"] == pytest.approx(history["val_loss"][best])
    encoder = export.load_encoder(tmp_path / record["encoder_path"])
    assert encoder(small_mnist.test.images[:5]).shape == (5, 16)
    json.dumps(record)


@pytest.mark.slow
def test_beta_one_on_ten_percent_reaches_paper_accuracy(mnist):
    """Acceptance: mnist_fc at beta 1 on 10% of the training data, 10 epochs at most.

    Measured: 0.912 (seed 0), 0.916 (seed 1); beta = 0 with the same settings: 0.712.
    """
    record = experiment.run_trial(
        "mnist_fc",
        0.1,
        beta=1.0,
        seed=0,
        mnist=mnist,
        max_epochs=ACCEPTANCE_MAX_EPOCHS,
        batch_size=ACCEPTANCE_BATCH_SIZE,
    )
    assert record["config"]["num_train_images"] == 5501
    assert record["metrics"]["svm_accuracy"] >= 0.85
