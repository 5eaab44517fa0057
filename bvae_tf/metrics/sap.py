"""The Separated Attribute Predictability (SAP) score.

Example:
    >>> scores = sap(data, encode_fn, random_state=0)  # doctest: +SKIP
    >>> scores["sap"]  # doctest: +SKIP
    0.05

References:
    Kumar, Sattigeri and Balakrishnan (2018), "Variational Inference of Disentangled
    Latent Concepts from Unlabeled Observations", ICLR, section 3.
"""

import numpy as np
from sklearn import svm
from sklearn.utils import check_random_state

from bvae_tf.data import ground_truth
from bvae_tf.metrics import utils


def sap(
    data,
    encode_fn,
    random_state,
    num_train=10_000,
    num_test=5_000,
    continuous_factors=False,
    C=0.01,
    encode_batch_size=utils.ENCODE_BATCH_SIZE,
    deduplicate=True,
):
    """Mean over factors of the gap between the two codes that predict it best, one at a time.

    The score matrix S (num_codes, num_factors) holds how well code i alone predicts
    factor j: with `continuous_factors=False` (default, as disentanglement_lib's study)
    the test accuracy of `LinearSVC(C=0.01, class_weight="balanced")` fitted on code i
    alone; with True the squared correlation of code i and factor j on the training
    points. SAP = mean over factors of (largest - second largest) in its column.

    As disentanglement_lib's `compute_sap` (10,000 train / 5,000 test points, discrete
    factors). Deviations: `LinearSVC` is seeded and named with scikit-learn 1.9's
    `dual="auto"` (disentanglement_lib ran the then-default dual solver, unseeded); points
    drawn at once and encoded in large batches.

    Note: a linear classifier on one code separates the extreme values of a factor well
    but hardly the middle ones, so factors with many values (60 rotations, 16 positions)
    get low accuracies even from a perfect code: the discrete SAP of the tests' oracle
    (factors scaled to [0, 1]) is 0.18, its continuous SAP 0.99.

    Args:
        data: ground-truth data (`bvae_tf.data.ground_truth.GroundTruthData`).
        encode_fn: callable, float32 images (N, *data.observation_shape) -> means
            (N, latent_dim).
        random_state: int, np.random.RandomState or None.
        num_train: int, default 10,000 points.
        num_test: int, default 5,000 points (discrete factors only).
        continuous_factors: bool, default False.
        C: float, default 0.01, the SVM's inverse regularisation strength.
        encode_batch_size: int, default 2,000, images per `encode_fn` call.
        deduplicate: bool, default True; see `bvae_tf.metrics.utils.encode_factors`.

    Returns:
        dict[str, float]: `sap` and `sap.<factor name>`, each factor's gap (`sap.pos_x`;
        `sap.factor_<j>` for data without `factor_names`).

    Raises:
        ValueError: for a bad size or a malformed encoder output.
    """
    random_state = check_random_state(random_state)
    sizes = [num_train] if continuous_factors else [num_train, num_test]
    sets = utils.sample_codes(
        data, encode_fn, sizes, random_state, encode_batch_size, deduplicate
    )
    if continuous_factors:
        matrix = _correlation_matrix(*sets[0])
    else:
        matrix = _accuracy_matrix(*sets[0], *sets[1], C, random_state.randint(2**31 - 1))
    gaps = _top_two_gaps(matrix)
    scores = {"sap": float(np.mean(gaps))}
    names = ground_truth.factor_names_of(data)
    scores.update({f"sap.{name}": float(gap) for name, gap in zip(names, gaps)})
    return scores


def _accuracy_matrix(train_codes, train_factors, test_codes, test_factors, C, seed):
    """Test accuracy of a LinearSVC of each single code for each factor."""
    matrix = np.zeros((train_codes.shape[1], train_factors.shape[1]))
    for code in range(train_codes.shape[1]):
        for factor in range(train_factors.shape[1]):
            classifier = svm.LinearSVC(C=C, class_weight="balanced", dual="auto",
                                       random_state=seed)
            classifier.fit(train_codes[:, [code]], train_factors[:, factor])
            predicted = classifier.predict(test_codes[:, [code]])
            matrix[code, factor] = np.mean(predicted == test_factors[:, factor])
    return matrix


def _correlation_matrix(codes, factors):
    """Squared correlation of each code with each factor (0 for a constant code)."""
    codes = codes - codes.mean(axis=0)
    factors = factors - factors.mean(axis=0)
    covariance = codes.T @ factors
    code_norms = np.sum(codes**2, axis=0)[:, None]
    factor_norms = np.sum(factors**2, axis=0)[None, :]
    safe = (code_norms > 1e-12 * len(codes)) & (factor_norms > 0)
    denominator = np.where(safe, code_norms * factor_norms, 1.0)
    return np.where(safe, covariance**2 / denominator, 0.0)


def _top_two_gaps(matrix):
    """Largest minus second largest value of each column (the second is 0 for one row)."""
    padded = np.vstack([matrix, np.zeros((1, matrix.shape[1]))])
    top_two = -np.sort(-padded, axis=0)[:2]
    return top_two[0] - top_two[1]
