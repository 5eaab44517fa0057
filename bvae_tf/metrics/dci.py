"""Disentanglement, Completeness and Informativeness (DCI) from tree-ensemble importances.

Example:
    >>> scores = dci(data, encode_fn, random_state=0)  # doctest: +SKIP
    >>> scores["dci"]  # doctest: +SKIP
    0.35

References:
    Eastwood and Williams (2018), "A Framework for the Quantitative Evaluation of
    Disentangled Representations", ICLR, section 2.
"""

import numpy as np
import scipy.stats
from sklearn import ensemble
from sklearn.utils import check_random_state

from bvae_tf.metrics import utils

IMPORTANCE_MODELS = ("gradient_boosting", "random_forest")


def dci(
    data,
    encode_fn,
    random_state,
    num_train=10_000,
    num_test=5_000,
    importance_model="gradient_boosting",
    n_estimators=None,
    encode_batch_size=utils.ENCODE_BATCH_SIZE,
    deduplicate=True,
):
    """DCI scores from one tree-ensemble classifier per factor.

    For each factor, a classifier predicts it from all codes; its impurity-based feature
    importances form the column of the (num_codes, num_factors) importance matrix R.
    Disentanglement: mean over codes of `1 - H_K(R[i] / sum R[i])` weighted by each
    code's share of R; completeness: the same per factor with `H_D`, weighted by each
    factor's share; informativeness: the mean test (and train) accuracy of the classifiers.

    `importance_model="gradient_boosting"` (default) is disentanglement_lib's
    `compute_dci`: `GradientBoostingClassifier()` with scikit-learn's defaults (100 trees
    of depth 3; `n_estimators` changes that). Multi-class boosting fits one tree per class
    and stage: 101 x 100 trees for the shapes' 3 + 16 + 16 + 6 + 60 values, minutes of
    CPU. `"random_forest"` is the faster option, the ensemble Eastwood and Williams also
    used: `RandomForestClassifier(n_estimators=20, max_depth=8, max_features=None,
    n_jobs=-1)`, one tree for all classes; every split sees every code, so importance
    is not spread over uninformative codes by random feature subsets. Its numbers are
    not comparable with gradient boosting's (BENCHMARKS.md has times and values).
    Deviations from disentanglement_lib: seeded models (it left them unseeded), points
    drawn at once and encoded in large batches.

    Args:
        data: ground-truth data (`factors_num_values`, `sample_factors`,
            `sample_observations_from_factors`).
        encode_fn: callable, float32 images (N, 64, 64, 1) -> means (N, latent_dim).
        random_state: int, np.random.RandomState or None.
        num_train: int, default 10,000 points.
        num_test: int, default 5,000 points.
        importance_model: str, "gradient_boosting" (default) or "random_forest".
        n_estimators: int or None: 100 (gradient_boosting) or 20 (random_forest).
        encode_batch_size: int, default 2,000, images per `encode_fn` call.
        deduplicate: bool, default True; see `bvae_tf.metrics.utils.encode_factors`.

    Returns:
        dict[str, float]: `dci` (the disentanglement), `dci.completeness`,
        `dci.informativeness_test`, `dci.informativeness_train`.

    Raises:
        ValueError: for an unknown importance model, a bad size or a malformed encoder
            output.
    """
    if importance_model not in IMPORTANCE_MODELS:
        raise ValueError(
            f"Unknown importance_model {importance_model!r}: use one of {IMPORTANCE_MODELS}."
        )
    random_state = check_random_state(random_state)
    (train_codes, train_factors), (test_codes, test_factors) = utils.sample_codes(
        data, encode_fn, [num_train, num_test], random_state, encode_batch_size, deduplicate
    )
    importance, train_accuracy, test_accuracy = _importance_matrix(
        train_codes, train_factors, test_codes, test_factors,
        lambda: _make_model(importance_model, n_estimators, random_state),
    )
    return {
        "dci": _disentanglement(importance),
        "dci.completeness": _completeness(importance),
        "dci.informativeness_test": test_accuracy,
        "dci.informativeness_train": train_accuracy,
    }


def _make_model(importance_model, n_estimators, random_state):
    seed = random_state.randint(2**31 - 1)
    if importance_model == "gradient_boosting":
        n_estimators = 100 if n_estimators is None else n_estimators
        return ensemble.GradientBoostingClassifier(n_estimators=n_estimators, random_state=seed)
    n_estimators = 20 if n_estimators is None else n_estimators
    return ensemble.RandomForestClassifier(
        n_estimators=n_estimators, max_depth=8, max_features=None, n_jobs=-1,
        random_state=seed,
    )


def _importance_matrix(train_codes, train_factors, test_codes, test_factors, make_model):
    """Importance matrix (num_codes, num_factors) and mean train and test accuracies."""
    importance = np.zeros((train_codes.shape[1], train_factors.shape[1]))
    train_accuracy, test_accuracy = [], []
    for factor in range(train_factors.shape[1]):
        model = make_model().fit(train_codes, train_factors[:, factor])
        importance[:, factor] = np.abs(model.feature_importances_)
        train_accuracy.append(model.score(train_codes, train_factors[:, factor]))
        test_accuracy.append(model.score(test_codes, test_factors[:, factor]))
    return importance, float(np.mean(train_accuracy)), float(np.mean(test_accuracy))


def _disentanglement(importance):
    """Importance-weighted mean over codes of 1 - entropy (base num_factors) of each row."""
    per_code = 1.0 - scipy.stats.entropy(importance.T + 1e-11, base=importance.shape[1])
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    return float(np.sum(per_code * weights.sum(axis=1) / weights.sum()))


def _completeness(importance):
    """Importance-weighted mean over factors of 1 - entropy (base num_codes) of each column."""
    per_factor = 1.0 - scipy.stats.entropy(importance + 1e-11, base=importance.shape[0])
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    return float(np.sum(per_factor * weights.sum(axis=0) / weights.sum()))
