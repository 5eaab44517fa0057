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
import sklearn
from sklearn import ensemble
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed

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
    n_jobs=-1,
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
    used: `RandomForestClassifier(n_estimators=20, max_depth=8, max_features=None)`, one
    tree for all classes; every split sees every code, so importance is not spread over
    uninformative codes by random feature subsets. Its numbers are not comparable with
    gradient boosting's (BENCHMARKS.md has times and values).
    Deviations from disentanglement_lib: seeded models (it left them unseeded), points
    drawn at once and encoded in large batches, classifiers fitted in parallel.

    `n_jobs` threads fit the classifiers: with gradient boosting one factor's classifier
    a thread, the factor with most values first (its 60 rotations hold 60 of the 101 trees
    of a stage, so more than 2 threads barely help); with random forests the trees of
    each forest. Every classifier has its own seed, drawn in factor order before any fit,
    so the numbers do not depend on `n_jobs`. scikit-learn's checks of parameters and of
    finite inputs are skipped inside the fits (the options and codes are checked here).

    Args:
        data: ground-truth data (`bvae_tf.data.ground_truth.GroundTruthData`).
        encode_fn: callable, float32 images (N, *data.observation_shape) -> means
            (N, latent_dim).
        random_state: int, np.random.RandomState or None.
        num_train: int, default 10,000 points.
        num_test: int, default 5,000 points.
        importance_model: str, "gradient_boosting" (default) or "random_forest".
        n_estimators: int >= 1 or None: 100 (gradient_boosting) or 20 (random_forest).
        n_jobs: int, default -1: every core (joblib's convention: -2 all but one, 1 none
            in parallel).
        encode_batch_size: int, default 2,000, images per `encode_fn` call.
        deduplicate: bool, default True; see `bvae_tf.metrics.utils.encode_factors`.

    Returns:
        dict[str, float]: `dci` (the disentanglement), `dci.completeness`,
        `dci.informativeness_test`, `dci.informativeness_train`.

    Raises:
        ValueError: for an unknown importance model, a bad size, `n_estimators` or
            `n_jobs`, or a malformed encoder output.
    """
    if importance_model not in IMPORTANCE_MODELS:
        raise ValueError(
            f"Unknown importance_model {importance_model!r}: use one of {IMPORTANCE_MODELS}."
        )
    if n_estimators is not None:
        utils.check_count("n_estimators", n_estimators)
    n_jobs = _check_n_jobs(n_jobs)
    random_state = check_random_state(random_state)
    (train_codes, train_factors), (test_codes, test_factors) = utils.sample_codes(
        data, encode_fn, [num_train, num_test], random_state, encode_batch_size, deduplicate
    )
    seeds = [random_state.randint(2**31 - 1) for _ in range(train_factors.shape[1])]
    models = [_make_model(importance_model, n_estimators, seed, n_jobs) for seed in seeds]
    importance, train_accuracy, test_accuracy = _importance_matrix(
        train_codes, train_factors, test_codes, test_factors, models,
        n_jobs if importance_model == "gradient_boosting" else 1,
    )
    return {
        "dci": _disentanglement(importance),
        "dci.completeness": _completeness(importance),
        "dci.informativeness_test": test_accuracy,
        "dci.informativeness_train": train_accuracy,
    }


def _check_n_jobs(n_jobs):
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError(
            f"`n_jobs` must be a nonzero integer (1 for no parallelism, -1 for every core), "
            f"got {n_jobs!r}."
        )
    return int(n_jobs)


def _make_model(importance_model, n_estimators, seed, n_jobs):
    if importance_model == "gradient_boosting":
        n_estimators = 100 if n_estimators is None else n_estimators
        return ensemble.GradientBoostingClassifier(n_estimators=n_estimators, random_state=seed)
    n_estimators = 20 if n_estimators is None else n_estimators
    return ensemble.RandomForestClassifier(
        n_estimators=n_estimators, max_depth=8, max_features=None, n_jobs=n_jobs,
        random_state=seed,
    )


def _importance_matrix(train_codes, train_factors, test_codes, test_factors, models, n_jobs):
    """Importance matrix (num_codes, num_factors) and mean train and test accuracies.

    `models[j]`, unfitted, is fitted to factor j; `n_jobs` threads fit them, the factor
    with most distinct training values first.
    """
    order = sorted(range(len(models)), key=lambda j: -len(np.unique(train_factors[:, j])))
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        fitted = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_fit_factor)(models[j], train_codes, train_factors[:, j], test_codes,
                                 test_factors[:, j])
            for j in order
        )
    importance = np.zeros((train_codes.shape[1], len(models)))
    train_accuracy, test_accuracy = np.zeros(len(models)), np.zeros(len(models))
    for j, (column, train, test) in zip(order, fitted):
        importance[:, j], train_accuracy[j], test_accuracy[j] = column, train, test
    return importance, float(np.mean(train_accuracy)), float(np.mean(test_accuracy))


def _fit_factor(model, train_codes, train_labels, test_codes, test_labels):
    """Fits `model`; returns its absolute importances, train and test accuracies."""
    model.fit(train_codes, train_labels)
    return (np.abs(model.feature_importances_), model.score(train_codes, train_labels),
            model.score(test_codes, test_labels))


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
