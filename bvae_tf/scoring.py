"""Each study's scorer, applied to an exported encoder: what a trial's `metrics` hold.

- shapes: the disentanglement metrics of `bvae_tf.metrics` (the paper's beta-VAE score and
  the field's current ones) on the encoder's posterior means;
- mnist: the paper's RBF SVM, fitted on codes z sampled from the posterior of the trial's
  training subset and scored on sampled codes of the 10,000 test images.

Both take an encoder as `bvae_tf.export.load_encoder` returns it, so the scored encoder is
the served one.

References:
    Peychev, Velickovic and Lio (2017), section 4 (Figure 1) and section 4.2 (Figure 2);
    `docs/protocol.md`.
"""

import numpy as np
import sklearn.svm


def shapes_scores(encoder, data, seed, metrics=(), metric_options=None):
    """The chosen disentanglement metrics of `encoder` on the shapes grid.

    Args:
        encoder: callable, float32 images (N, 64, 64, 1) -> means (N, latent_dim).
        data: `bvae_tf.data.shapes.ShapesData`.
        seed: int, seed of every metric's sampling.
        metrics: names in `bvae_tf.metrics.METRICS`; () scores nothing.
        metric_options: dict, metric name -> keyword options.

    Returns:
        dict[str, float]: the metrics' numbers (`bvae_tf.metrics.compute`).
    """
    if not metrics:
        return {}
    from bvae_tf import metrics as metric_functions

    options = {name: dict(value) for name, value in (metric_options or {}).items()
               if name in metrics}
    scores = metric_functions.compute(list(metrics), data, encoder, seed, **options)
    return {key: float(value) for key, value in scores.items()}


def svm_accuracy(encoder, train, test, seed):
    """The paper's SVM test accuracy on codes sampled from `encoder`'s posterior.

    Codes of the training images are drawn with `seed`, those of the test images with
    `seed + 1`.

    Args:
        encoder: an encoder with `sample_codes(images, random_state)`
            (`bvae_tf.export.Encoder`).
        train: split with `images` and `labels` (the trial's training subset).
        test: split with `images` and `labels` (the 10,000 test images).
        seed: int.

    Returns:
        dict: `{"svm_accuracy": float}`.
    """
    accuracy = fit_svm_on_codes(
        encoder.sample_codes(train.images, seed), train.labels,
        encoder.sample_codes(test.images, seed + 1), test.labels, encoder.latent_dim)
    return {"svm_accuracy": accuracy}


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
    >>> fit_svm_on_codes(codes, labels, codes[::-1], labels[::-1], latent_dim=4)
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


__all__ = ["fit_svm_on_codes", "shapes_scores", "svm_accuracy"]
