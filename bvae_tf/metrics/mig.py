"""The Mutual Information Gap (MIG).

Example:
    >>> scores = mig(data, encode_fn, random_state=0)  # doctest: +SKIP
    >>> scores["mig"]  # doctest: +SKIP
    0.12

References:
    Chen, Li, Grosse and Duvenaud (2018), "Isolating Sources of Disentanglement in
    Variational Autoencoders", NeurIPS, section 5.
"""

import numpy as np
from sklearn.utils import check_random_state

from bvae_tf.data import ground_truth
from bvae_tf.metrics import utils


def mig(
    data,
    encode_fn,
    random_state,
    num_train=10_000,
    num_bins=20,
    encode_batch_size=utils.ENCODE_BATCH_SIZE,
    deduplicate=True,
):
    """Mean over factors of the gap between the two codes most informative about it.

    Each code is discretised into `num_bins` equal-width bins over its range; for each
    factor, `(I(code_a; factor) - I(code_b; factor)) / H(factor)` with a and b the codes
    of largest and second largest mutual information (`sklearn.metrics.mutual_info_score`).

    As disentanglement_lib's `compute_mig` with its study's settings (10,000 points,
    histogram discretiser, 20 bins). Deviations: points drawn at once and encoded in large
    batches; with a single code the second mutual information is 0.

    Note: the histogram caps a code's information at log(num_bins) nats, so a factor
    with more values than bins cannot reach a gap of 1: the 60 rotations of the shapes
    give at most log(20) / log(60) = 0.73 for a perfect code, and a perfect code of all 5
    shapes factors at most (4 + 0.73) / 5 = 0.95 (0.93 for the tests' oracle, which reads
    the symmetric rotations of a square as one).

    Args:
        data: ground-truth data (`bvae_tf.data.ground_truth.GroundTruthData`).
        encode_fn: callable, float32 images (N, *data.observation_shape) -> means
            (N, latent_dim).
        random_state: int, np.random.RandomState or None.
        num_train: int, default 10,000 points.
        num_bins: int, default 20.
        encode_batch_size: int, default 2,000, images per `encode_fn` call.
        deduplicate: bool, default True; see `bvae_tf.metrics.utils.encode_factors`.

    Returns:
        dict[str, float]: `mig` and `mig.<factor name>`, each factor's gap (`mig.pos_x`;
        `mig.factor_<j>` for data without `factor_names`).

    Raises:
        ValueError: for a bad size, a malformed encoder output, or a factor that takes a
            single value among the points (its entropy is 0: raise `num_train`).
    """
    random_state = check_random_state(random_state)
    [(codes, factors)] = utils.sample_codes(
        data, encode_fn, [num_train], random_state, encode_batch_size, deduplicate
    )
    names = ground_truth.factor_names_of(data)
    gaps = _mig(codes, factors, num_bins, names)
    scores = {"mig": float(np.mean(gaps))}
    scores.update({f"mig.{name}": float(gap) for name, gap in zip(names, gaps)})
    return scores


def _mig(codes, factors, num_bins, names=None):
    """Normalised gap of each factor, np.ndarray (num_factors,).

    Args:
        codes: np.ndarray (num_points, num_codes).
        factors: np.ndarray int (num_points, num_factors).
        num_bins: int.
        names: sequence of str or None, the factors' names for the error message.
    """
    information = utils.discrete_mutual_info(utils.histogram_discretize(codes, num_bins), factors)
    entropy = utils.discrete_entropy(factors)
    if np.any(entropy <= 0):
        constant = np.flatnonzero(entropy <= 0).tolist()
        raise ValueError(
            f"Factors {constant if names is None else [names[j] for j in constant]} take a "
            "single value among the "
            f"{len(factors)} points, so their information cannot be normalised: sample more "
            "points (`num_train`)."
        )
    information = np.vstack([information, np.zeros((1, information.shape[1]))])
    top_two = -np.sort(-information, axis=0)[:2]
    return (top_two[0] - top_two[1]) / entropy
