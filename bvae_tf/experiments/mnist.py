"""The paper's MNIST experiment: a beta-VAE's sampled codes as features for an SVM.

One trial trains a zoo model on a per-class random subset of the 55,000 training images
(early stopping on the 5,000 validation images), encodes the subset and the 10,000 test
images with sampled codes z, fits `sklearn.svm.SVC(kernel="rbf", C=1.0, gamma=1/latent_dim)`
on the subset's codes and scores it on the test codes.

References:
    Peychev, Velickovic and Lio (2017), "Quantifying the Effects of Enforcing
    Disentanglement on Variational Autoencoders", section 4.2 and Figure 2 (SVM accuracy
    against beta for 10% and 30% of the training data).
"""

import pathlib
import time

import numpy as np
import sklearn.svm

from bvae_tf import export, results, training, zoo
from bvae_tf.data import mnist as mnist_data
from bvae_tf.experiments import pipelines

STUDY = "mnist"


def fit_svm_on_codes(train_codes, train_labels, test_codes, test_labels, latent_dim):
    """Fits the paper's RBF SVM on training codes and returns its test accuracy.

    Args:
        train_codes: float array (num_train, latent_dim), codes of the training images.
        train_labels: int array (num_train,).
        test_codes: float array (num_test, latent_dim).
        test_labels: int array (num_test,).
        latent_dim: int, the code size; the kernel width is `gamma = 1 / latent_dim`
            (scikit-learn's 2017 default `gamma="auto"`, which the paper used).

    Returns:
        float, the accuracy on the test codes, in [0, 1].

    Raises:
        ValueError: the codes are not (num_points, latent_dim) or labels do not match them.

    Example:
    >>> labels = np.arange(100) % 4
    >>> codes = np.eye(4)[labels] * 3.0
    >>> fit_svm_on_codes(codes, labels, codes, labels, latent_dim=4)
    1.0
    """
    for name, codes, labels in (
        ("train", train_codes, train_labels),
        ("test", test_codes, test_labels),
    ):
        if np.ndim(codes) != 2 or np.shape(codes)[1] != latent_dim:
            raise ValueError(
                f"{name}_codes must have shape (num_points, latent_dim={latent_dim}); "
                f"got {np.shape(codes)}. Pass the model's latent_dim."
            )
        if np.shape(labels) != (len(codes),):
            raise ValueError(
                f"{name}_labels must have shape ({len(codes)},), one per code; "
                f"got {np.shape(labels)}."
            )
    classifier = sklearn.svm.SVC(kernel="rbf", C=1.0, gamma=1.0 / latent_dim)
    classifier.fit(train_codes, train_labels)
    return float(classifier.score(test_codes, test_labels))


def run_trial(
    entry,
    fraction,
    beta,
    seed,
    mnist,
    results_dir=None,
    max_epochs=None,
    batch_size=1000,
    verbose=0,
    jit_compile="auto",
):
    """Runs one trial of the MNIST study and returns its record.

    The subset is `subset_per_class(mnist.train.labels, fraction, random_state=seed)`; the
    model is `bvae_tf.zoo.get(entry)(beta=beta, seed=seed)`; codes are sampled with seed
    `seed` (training subset) and `seed + 1` (test images).

    Args:
        entry: str, an MNIST zoo entry ("mnist_fc" or "mnist_conv").
        fraction: float in (0, 1], the per-class fraction of the 55,000 training images.
        beta: float, the KL weight.
        seed: int, seeds the subset, the model, the shuffling and the sampled codes.
        mnist: `bvae_tf.data.mnist.MnistData`, from `load_mnist()`.
        results_dir: str or path-like, default None. If given, writes
            `models/mnist/<trial_name>/{model.keras, history.json, logs/}` and the encoder
            SavedModel `saved_models/<entry>/<trial_name>/1/` under it (not the record).
        max_epochs: int, default None (no cap: early stopping alone ends training).
        batch_size: int, default 1000 (the paper's).
        verbose: int, default 0, Keras' `fit` verbosity.
        jit_compile: bool or "auto", default "auto": XLA as the zoo measured it per
            architecture (see `bvae_tf.zoo`).

    Returns:
        dict, the trial's record (see `contracts.md`): study "mnist", `metrics`
        `{"svm_accuracy": ...}`, losses at the best epoch (1-based `best_epoch`), and
        `model_path` / `encoder_path` relative to `results_dir` (None without one).

    Raises:
        ValueError: `entry` is not an MNIST zoo entry, or `fraction` is not in (0, 1].
        bvae_tf.training.NaNLossError: the loss became NaN.

    Example:
    >>> mnist = mnist_data.load_mnist()  # doctest: +SKIP
    >>> record = run_trial("mnist_fc", 0.1, beta=1.0, seed=0, mnist=mnist)  # doctest: +SKIP
    >>> record["metrics"]["svm_accuracy"] > 0.85  # doctest: +SKIP
    True
    """
    if zoo.dataset_of(entry) != STUDY:
        mnist_entries = [name for name in zoo.NAMES if zoo.dataset_of(name) == STUDY]
        raise ValueError(
            f"run_trial needs an MNIST zoo entry, one of {mnist_entries}; got {entry!r}, "
            f"which trains on the {zoo.dataset_of(entry)} dataset."
        )
    start = time.perf_counter()
    name = results.trial_name(entry, beta, seed, fraction=fraction)
    indices = mnist_data.subset_per_class(mnist.train.labels, fraction, random_state=seed)
    train = mnist_data.MnistSplit(mnist.train.images[indices], mnist.train.labels[indices])
    model = zoo.get(entry)(beta=beta, seed=seed, jit_compile=jit_compile)
    model_dir = None if results_dir is None else _model_dir(results_dir, name)
    history = _train(
        model, mnist, entry, fraction, seed, model_dir, max_epochs, batch_size, verbose
    )
    accuracy = _svm_accuracy(model, train, mnist.test, seed, batch_size)
    paths = {"model_path": None, "encoder_path": None}
    if results_dir is not None:
        paths = _save(model, history, pathlib.Path(results_dir), entry, name)
    config = {
        "max_epochs": max_epochs,
        "batch_size": batch_size,
        "jit_compile": jit_compile,
        "train_fraction": float(fraction),
        "num_train_images": len(train),
        "svm": {"kernel": "rbf", "C": 1.0, "gamma": 1.0 / model.latent_dim},
        "codes": "sampled",
    }
    record = {"study": STUDY, "trial_name": name, "entry": entry, "beta": float(beta)}
    record.update(seed=int(seed), fraction=float(fraction), config=config)
    record.update(versions=results.versions(), **training.summarize_history(history.history))
    record.update(wall_time_s=round(time.perf_counter() - start, 3))
    record.update(metrics={"svm_accuracy": accuracy}, **paths)
    return record


def _svm_accuracy(model, train, test, seed, batch_size):
    """The SVM's test accuracy on sampled codes (seed `seed` for train, `seed + 1` for test)."""
    return fit_svm_on_codes(
        model.sample_codes(train.images, seed=seed, batch_size=batch_size),
        train.labels,
        model.sample_codes(test.images, seed=seed + 1, batch_size=batch_size),
        test.labels,
        model.latent_dim,
    )


def _model_dir(results_dir, name):
    return pathlib.Path(results_dir) / "models" / STUDY / name


def _train(model, mnist, entry, fraction, seed, model_dir, max_epochs, batch_size, verbose):
    """Fits on the fraction's subset (`make_datasets` draws the same subset as `run_trial`)."""
    train_dataset, validation_dataset = pipelines.make_datasets(
        mnist, entry, seed=seed, train_fraction=fraction, batch_size=batch_size
    )
    return training.fit(
        model,
        train_dataset,
        validation_dataset,
        max_epochs=max_epochs,
        log_dir=None if model_dir is None else model_dir / "logs",
        verbose=verbose,
    )


def _save(model, history, results_dir, entry, name):
    """Writes model.keras, history.json and the exported encoder; returns relative paths."""
    model_dir = _model_dir(results_dir, name)
    model_dir.mkdir(parents=True, exist_ok=True)
    model.save(model_dir / "model.keras")
    history_json = {
        key: [float(value) for value in values] for key, values in history.history.items()
    }
    results.atomic_write_json(model_dir / "history.json", history_json)
    encoder_dir = export.export_encoder(
        model, results_dir / "saved_models" / entry, name, version=1, overwrite=True
    )
    root = results_dir.resolve()
    return {
        "model_path": (model_dir / "model.keras").resolve().relative_to(root).as_posix(),
        "encoder_path": pathlib.Path(encoder_dir).resolve().relative_to(root).as_posix(),
    }
