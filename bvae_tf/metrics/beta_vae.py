"""The beta-VAE disentanglement score: the paper's protocol and disentanglement_lib's.

Both protocols build examples in which one known factor is singled out, turn a pair (or
batch of pairs) of encoder means into one feature vector, and report the test accuracy of
a linear classifier that predicts the singled-out factor from the features.

Example:
    >>> scores = beta_vae_score(data, encode_fn, random_state=0)  # doctest: +SKIP
    >>> scores["beta_vae"]  # doctest: +SKIP
    0.93

References:
    Peychev, Velickovic and Lio (2017), "Quantifying the Effects of Enforcing
    Disentanglement on Variational Autoencoders", section 3 (docs/protocol.md, section 3).
    Higgins et al. (2017), "beta-VAE: Learning Basic Visual Concepts with a Constrained
    Variational Framework", ICLR, section 3 and appendix A.4.
"""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.utils import check_random_state

from bvae_tf.data import ground_truth
from bvae_tf.metrics import softmax, utils

PROTOCOLS = ("peychev2017", "higgins2017")
# The authors' stopping rule of the paper protocol's classifier: `beta_vae_score(...,
# **PEYCHEV2017_STOPPING)`. mpeychev/disentangled-autoencoders, src/evaluator.py: `PATIENCE =
# 20` and `if consecutive_decreases > PATIENCE: break` inside `while True` stop after 21
# epochs without improvement, with no epoch cap.
PEYCHEV2017_STOPPING = {"patience": 21, "max_epochs": None}
_MAX_REDRAWS = 100


def beta_vae_score(
    data,
    encode_fn,
    random_state,
    protocol="peychev2017",
    fixed_factor=0,
    num_train=None,
    num_validation=7_500,
    num_test=None,
    max_epochs=softmax.MAX_EPOCHS,
    patience=20,
    learning_rate=1e-3,
    batch_size=64,
    solver="liblinear",
    C=1.0,
    encode_batch_size=utils.ENCODE_BATCH_SIZE,
    deduplicate=True,
):
    """The beta-VAE score of an encoder: test accuracy of a linear factor classifier.

    `protocol="peychev2017"` (default), the paper's: a sample holds `fixed_factor` (the
    shapes' first, shape) fixed, balanced over its values, draws the others uniformly over
    the grid, changes exactly one of them to another value (uniform over the other values;
    a pair of identical images is redrawn), and labels it with the changed factor
    (num_factors - 1 classes: 4 for the shapes, chance 0.25). Feature: `|z(x1) - z(x2)| / max(|z(x1) - z(x2)|)` (left at zero where
    the difference is zero). A linear softmax classifier (latent_dim -> 4), trained on the
    full batch with Adam (`learning_rate`, TF1 defaults otherwise), stops once the
    validation cross-entropy has gone `patience` epochs in a row without improving
    (strictly) on its best, keeping the last weights, or after `max_epochs`. Defaults
    35,001 / 7,500 / 7,500 points, `patience=20`, `max_epochs=10_000`: one epoch earlier
    than the authors' classifier and a cap on the run time (features that separate the
    classes keep improving the validation loss for many thousands of epochs). The authors'
    rule, 21 epochs and no cap, is `**PEYCHEV2017_STOPPING` (the paper profile uses it).

    `protocol="higgins2017"`, disentanglement_lib's `compute_beta_vae_sklearn`: a factor k
    uniform over all factors, two batches of `batch_size` factor tuples drawn uniformly
    with factor k copied from the first batch to the second, feature = mean over the batch
    of `|z(x1) - z(x2)|`; label k. Classifier `LogisticRegression(solver="liblinear",
    C=1.0)` one-vs-rest: scikit-learn's default when disentanglement_lib was written (its
    code names neither; today's default, lbfgs multinomial, is `solver="lbfgs"`).
    Defaults 10,000 train / 5,000 test points of 64 pairs each. Options of the other
    protocol are ignored.

    Weakness: the paper's feature is divided by its own maximum, so any rotation of a
    perfect code still gives one fixed pattern per factor and a near-perfect score; MIG
    sees the mixing (a rotated oracle: beta_vae >= 0.98, MIG <= 0.3 in our tests).

    Args:
        data: ground-truth data (`num_factors`, `factors_num_values`, `sample_factors`,
            `sample_observations_from_factors`; peychev2017 also `images_of`).
        encode_fn: callable, float32 images (N, *data.observation_shape) -> means
            (N, latent_dim).
        random_state: int, np.random.RandomState or None.
        protocol: str, "peychev2017" (default) or "higgins2017".
        fixed_factor: int or str, default 0: the factor held fixed (index or name, e.g.
            "shape") (peychev2017).
        num_train: int or None: 35,001 (peychev2017) or 10,000 (higgins2017).
        num_validation: int, default 7,500 (peychev2017 only).
        num_test: int or None: 7,500 (peychev2017) or 5,000 (higgins2017's `num_eval`).
        max_epochs: int or None, default 10,000; None: no cap, the authors' (peychev2017).
        patience: int, default 20: epochs without improvement before stopping; the
            authors' is 21 (`PEYCHEV2017_STOPPING`) (peychev2017).
        learning_rate: float, default 1e-3 (peychev2017).
        batch_size: int, default 64, pairs per point (higgins2017).
        solver: str, default "liblinear" (higgins2017; liblinear is fitted one-vs-rest).
        C: float, default 1.0, inverse regularisation strength (higgins2017).
        encode_batch_size: int, default 2,000, images per `encode_fn` call.
        deduplicate: bool, default True; see `bvae_tf.metrics.utils.encode_factors`.

    Returns:
        dict[str, float]: `beta_vae` (the test accuracy), `beta_vae.test_accuracy`,
        `beta_vae.train_accuracy`, `beta_vae.num_train`, `beta_vae.num_test`; peychev2017
        also `beta_vae.validation_accuracy`, `beta_vae.num_validation`, `beta_vae.epochs`.

    Raises:
        ValueError: for an unknown protocol or `fixed_factor`, a bad size, or a malformed
            encoder output.
    """
    random_state = check_random_state(random_state)
    common = {"encode_batch_size": encode_batch_size, "deduplicate": deduplicate}
    if protocol == "peychev2017":
        sizes = (35_001 if num_train is None else num_train, num_validation,
                 7_500 if num_test is None else num_test)
        splits = sample_peychev2017(data, encode_fn, sizes, random_state,
                                    fixed_factor=fixed_factor, **common)
        return _peychev2017_scores(
            splits, data.num_factors - 1, random_state, learning_rate, patience, max_epochs
        )
    if protocol == "higgins2017":
        sizes = (10_000 if num_train is None else num_train, 5_000 if num_test is None
                 else num_test)
        splits = sample_higgins2017(data, encode_fn, sizes, random_state, batch_size, **common)
        return _higgins2017_scores(splits, random_state, solver, C)
    raise ValueError(f"Unknown protocol {protocol!r}: use one of {PROTOCOLS}.")


def sample_peychev2017(
    data,
    encode_fn,
    sizes,
    random_state,
    fixed_factor=0,
    encode_batch_size=utils.ENCODE_BATCH_SIZE,
    deduplicate=True,
):
    """Features and labels of the paper's protocol (see `beta_vae_score`), per split.

    Args:
        data: ground-truth data with `factors_num_values`, `images_of` and
            `sample_observations_from_factors`.
        encode_fn: callable, float32 images -> means (N, latent_dim).
        sizes: sequence of int >= 1, e.g. (35_001, 7_500, 7_500); all the splits' images
            are encoded in one pass.
        random_state: np.random.RandomState.
        fixed_factor: int or str, default 0, the factor held fixed (index or name).
        encode_batch_size: int, default 2,000.
        deduplicate: bool, default True.

    Returns:
        list of (features, labels), one per size: np.ndarray float64 (num_points,
        latent_dim) in [0, 1], and int64 (num_points,) in [0, num_factors - 1): the changed
        factor's rank among the factors other than the fixed one.
    """
    pairs = [sample_peychev2017_factors(data, size, random_state, fixed_factor)
             for size in sizes]
    codes = utils.encode_factor_sets(
        data, encode_fn, [factors for pair in pairs for factors in pair[:2]], random_state,
        encode_batch_size, deduplicate,
    )
    return [
        (_peychev2017_features(codes[2 * split], codes[2 * split + 1]), labels)
        for split, (_, _, labels) in enumerate(pairs)
    ]


def sample_peychev2017_factors(data, num_points, random_state, fixed_factor=0):
    """Factor pairs of the paper's protocol: one factor fixed, one other changed.

    Args:
        data: ground-truth data with `factors_num_values` and `images_of`.
        num_points: int >= 1.
        random_state: np.random.RandomState.
        fixed_factor: int or str, default 0, the factor held fixed (index or name).

    Returns:
        (first, second, labels): int64 (num_points, num_factors) twice, whose images
        differ, and int64 (num_points,): the changed factor's rank among the others (its
        index, minus one if it comes after the fixed factor).

    Raises:
        ValueError: for data without `images_of`, an unknown `fixed_factor`, a constant
            factor to change, or if identical pairs keep coming after 100 redraws.
    """
    num_points = utils.check_count("num_points", num_points)
    if not callable(getattr(data, "images_of", None)):
        raise ValueError(  # noqa: TRY004 (the CLI and compute report ValueErrors as bad input)
            f"The paper's protocol redraws pairs of identical images, so `data` needs "
            f"`images_of(factors)` (bvae_tf.data.ground_truth.GroundTruthData); "
            f"{type(data).__name__} has none. protocol='higgins2017' does without it."
        )
    fixed = ground_truth.factor_index(data, fixed_factor, "fixed_factor")
    sizes = np.asarray(data.factors_num_values, np.int64)
    others = np.delete(np.arange(len(sizes)), fixed)
    if not len(others) or np.any(sizes[others] < 2):
        raise ValueError(
            f"The paper's protocol changes one factor other than the fixed one "
            f"({ground_truth.factor_names_of(data)[fixed]!r}): every other factor needs 2 "
            f"values or more, got factors_num_values {sizes.tolist()}. Leave out the "
            "constant factors from the data."
        )
    first = np.empty((num_points, len(sizes)), np.int64)
    first[:, fixed] = random_state.permutation(np.arange(num_points) % sizes[fixed])
    second, labels = first.copy(), np.empty(num_points, np.int64)
    redraw = np.arange(num_points)
    for _ in range(_MAX_REDRAWS):
        first[np.ix_(redraw, others)] = random_state.randint(
            sizes[others], size=(len(redraw), len(others)))
        labels[redraw] = random_state.randint(len(others), size=len(redraw))
        columns = others[labels[redraw]]
        shift = random_state.randint(1, sizes[columns])
        second[redraw] = first[redraw]
        second[redraw, columns] = (first[redraw, columns] + shift) % sizes[columns]
        redraw = redraw[_identical(data, first[redraw], second[redraw])]
        if not len(redraw):
            return first, second, labels
    raise ValueError(
        f"{len(redraw)} pairs were still pixel-identical after {_MAX_REDRAWS} redraws; "
        "the data's images do not depend on its factors."
    )


def _identical(data, first, second, chunk=5_000):
    """Boolean mask of the pairs whose two images are pixel-identical."""
    same = np.zeros(len(first), bool)
    for start in range(0, len(first), chunk):
        rows = slice(start, start + chunk)
        images = [np.asarray(data.images_of(f[rows])) for f in (first, second)]
        same[rows] = np.all((images[0] == images[1]).reshape(len(images[0]), -1), axis=1)
    return same


def _peychev2017_features(codes1, codes2):
    """`|codes1 - codes2|` divided row-wise by its maximum (rows of zeros stay zero)."""
    difference = np.abs(codes1 - codes2)
    maximum = difference.max(axis=1, keepdims=True)
    return difference / np.where(maximum > 0, maximum, 1.0)


def _peychev2017_scores(splits, num_classes, random_state, learning_rate, patience, max_epochs):
    (train_x, train_y), (validation_x, validation_y), (test_x, test_y) = splits
    weights, epochs = softmax.fit(
        train_x, train_y, validation_x, validation_y, num_classes, random_state,
        learning_rate=learning_rate, patience=patience, max_epochs=max_epochs,
    )
    test_accuracy = softmax.accuracy(weights, test_x, test_y)
    return {
        "beta_vae": test_accuracy,
        "beta_vae.test_accuracy": test_accuracy,
        "beta_vae.train_accuracy": softmax.accuracy(weights, train_x, train_y),
        "beta_vae.validation_accuracy": softmax.accuracy(weights, validation_x, validation_y),
        "beta_vae.num_train": float(len(train_y)),
        "beta_vae.num_validation": float(len(validation_y)),
        "beta_vae.num_test": float(len(test_y)),
        "beta_vae.epochs": float(epochs),
    }


def sample_higgins2017(
    data,
    encode_fn,
    sizes,
    random_state,
    batch_size=64,
    encode_batch_size=utils.ENCODE_BATCH_SIZE,
    deduplicate=True,
):
    """Features and labels of disentanglement_lib's protocol (see `beta_vae_score`).

    All pairs are drawn before encoding (disentanglement_lib draws point by point, so its
    random stream, not its distribution, differs) and encoded in one pass.

    Args:
        data: ground-truth data.
        encode_fn: callable, float32 images -> means (N, latent_dim).
        sizes: sequence of int >= 1, e.g. (10_000, 5_000).
        random_state: np.random.RandomState.
        batch_size: int >= 1, default 64, pairs per point.
        encode_batch_size: int, default 2,000.
        deduplicate: bool, default True.

    Returns:
        list of (features, labels), one per size: np.ndarray float64 (num_points,
        latent_dim) and int64 (num_points,) in [0, num_factors): the factor held equal
        within each pair.
    """
    batch_size = utils.check_count("batch_size", batch_size)
    draws = [_higgins2017_factors(data, size, batch_size, random_state) for size in sizes]
    codes = utils.encode_factor_sets(
        data, encode_fn, [factors.reshape(-1, data.num_factors) for draw in draws
                          for factors in draw[1:]],
        random_state, encode_batch_size, deduplicate,
    )
    return [
        (_higgins2017_features(*(codes[2 * split + pair].reshape(len(labels), batch_size, -1)
                                 for pair in (0, 1))), labels)
        for split, (labels, _, _) in enumerate(draws)
    ]


def _higgins2017_factors(data, num_points, batch_size, random_state):
    """(labels, first, second): the held factor and two int64 (points, batch, factors)."""
    num_points = utils.check_count("num_points", num_points)
    labels = random_state.randint(data.num_factors, size=num_points).astype(np.int64)
    first, second = (
        np.asarray(data.sample_factors(num_points * batch_size, random_state), np.int64)
        .reshape(num_points, batch_size, data.num_factors)
        for _ in range(2)
    )
    points = np.arange(num_points)[:, None]
    second[points, :, labels[:, None]] = first[points, :, labels[:, None]]
    return labels, first, second


def _higgins2017_features(codes1, codes2):
    """Mean over the batch axis of `|codes1 - codes2|`, (points, batch, latent) inputs."""
    return np.mean(np.abs(codes1 - codes2), axis=1)


def _higgins2017_scores(splits, random_state, solver, C):
    (train_x, train_y), (test_x, test_y) = splits
    seed = random_state.randint(2**31 - 1)
    model = LogisticRegression(solver=solver, C=C, random_state=seed)
    if solver == "liblinear":
        model = OneVsRestClassifier(model)
    model.fit(train_x, train_y)
    test_accuracy = float(model.score(test_x, test_y))
    return {
        "beta_vae": test_accuracy,
        "beta_vae.test_accuracy": test_accuracy,
        "beta_vae.train_accuracy": float(model.score(train_x, train_y)),
        "beta_vae.num_train": float(len(train_y)),
        "beta_vae.num_test": float(len(test_y)),
    }
