"""The FactorVAE disentanglement score: a majority-vote classifier on the least-varying code.

Example:
    >>> scores = factor_vae_score(data, encode_fn, random_state=0)  # doctest: +SKIP
    >>> scores["factor_vae"]  # doctest: +SKIP
    0.81

References:
    Kim and Mnih (2018), "Disentangling by Factorising", ICML, section 4.
"""

import numpy as np
from sklearn.utils import check_random_state

from bvae_tf.metrics import utils


def factor_vae_score(
    data,
    encode_fn,
    random_state,
    batch_size=64,
    num_train=10_000,
    num_eval=5_000,
    num_variance_estimate=10_000,
    prune_threshold=0.05,
    encode_batch_size=utils.ENCODE_BATCH_SIZE,
    deduplicate=True,
):
    """FactorVAE score: how well the code of least relative variance names a fixed factor.

    Global variances of each code come from `num_variance_estimate` uniform samples; codes
    whose standard deviation is below `prune_threshold` are pruned (collapsed to the
    prior). A vote fixes one factor (uniform) across a batch of `batch_size` otherwise
    uniform samples, divides each active code's variance within the batch by its global
    variance and votes (factor, argmin code). The classifier maps each code to the factor
    with most training votes; the score is its accuracy on the evaluation votes.

    As disentanglement_lib's `compute_factor_vae` with its study's settings (batch 64,
    10,000 / 5,000 votes, 10,000 points for the variances, `prune_dims.threshold = 0.05`
    on the standard deviation, variances with ddof=1). Deviations: all samples are drawn
    at once (another random stream, same distribution); votes are indexed by the code
    itself, not by its rank among active codes (the same accuracies); `num_active_dims`
    counts the active codes (disentanglement_lib reports the length of its mask).

    Args:
        data: ground-truth data (`bvae_tf.data.ground_truth.GroundTruthData`).
        encode_fn: callable, float32 images (N, *data.observation_shape) -> means
            (N, latent_dim).
        random_state: int, np.random.RandomState or None.
        batch_size: int, default 64, samples per vote.
        num_train: int, default 10,000 training votes.
        num_eval: int, default 5,000 evaluation votes.
        num_variance_estimate: int, default 10,000.
        prune_threshold: float, default 0.05, minimum standard deviation of an active code.
        encode_batch_size: int, default 2,000, images per `encode_fn` call.
        deduplicate: bool, default True; see `bvae_tf.metrics.utils.encode_factors`.

    Returns:
        dict[str, float]: `factor_vae` (the evaluation accuracy),
        `factor_vae.eval_accuracy`, `factor_vae.train_accuracy`,
        `factor_vae.num_active_dims`; all 0 when no code is active.

    Raises:
        ValueError: for a bad size or a malformed encoder output.
    """
    random_state = check_random_state(random_state)
    variance_codes, batches = sample_factor_vae(
        data, encode_fn, random_state, num_variance_estimate, (num_train, num_eval),
        batch_size, encode_batch_size, deduplicate,
    )
    global_variances = np.var(variance_codes, axis=0, ddof=1)
    active = np.sqrt(global_variances) >= prune_threshold
    if not active.any():
        return _scores(0.0, 0.0, 0)
    votes = [
        _votes(fixed, local_variances, global_variances, active, data.num_factors)
        for fixed, local_variances in batches
    ]
    return _scores(*_vote_accuracies(*votes), int(active.sum()))


def sample_factor_vae(
    data,
    encode_fn,
    random_state,
    num_variance_estimate=10_000,
    sizes=(10_000, 5_000),
    batch_size=64,
    encode_batch_size=utils.ENCODE_BATCH_SIZE,
    deduplicate=True,
):
    """Codes for the global variances, and the batches of each set of votes.

    A batch holds one factor (uniform) fixed at a uniform value across `batch_size`
    otherwise uniform samples. Every image is encoded in one pass.

    Args:
        data: ground-truth data.
        encode_fn: callable, float32 images -> means (N, latent_dim).
        random_state: np.random.RandomState.
        num_variance_estimate: int >= 2, default 10,000.
        sizes: sequence of int >= 1, default (10,000, 5,000): batches (votes) per set.
        batch_size: int >= 2, default 64.
        encode_batch_size: int, default 2,000.
        deduplicate: bool, default True.

    Returns:
        (variance_codes, batches): np.ndarray (num_variance_estimate, latent_dim), and per
        size a pair (fixed, local_variances): int64 (num_points,), the fixed factor of
        each batch, and float64 (num_points, latent_dim), each code's variance (ddof=1)
        within the batch.
    """
    num_variance_estimate = utils.check_count("num_variance_estimate", num_variance_estimate, 2)
    batch_size = utils.check_count("batch_size", batch_size, minimum=2)
    variance_factors = np.asarray(data.sample_factors(num_variance_estimate, random_state))
    draws = [_fixed_factor_batches(data, size, batch_size, random_state) for size in sizes]
    codes = utils.encode_factor_sets(
        data, encode_fn, [variance_factors] + [factors for _, factors in draws], random_state,
        encode_batch_size, deduplicate,
    )
    batches = [
        (fixed, np.var(batch_codes.reshape(len(fixed), batch_size, -1), axis=1, ddof=1))
        for (fixed, _), batch_codes in zip(draws, codes[1:])
    ]
    return codes[0], batches


def _fixed_factor_batches(data, num_points, batch_size, random_state):
    """(fixed, factors): int64 (num_points,) and (num_points * batch_size, num_factors)."""
    num_points = utils.check_count("num_points", num_points)
    fixed = random_state.randint(data.num_factors, size=num_points).astype(np.int64)
    factors = np.asarray(data.sample_factors(num_points * batch_size, random_state), np.int64)
    factors = factors.reshape(num_points, batch_size, data.num_factors)
    points = np.arange(num_points)
    factors[points, :, fixed] = factors[points, 0, fixed][:, None]
    return fixed, factors.reshape(-1, data.num_factors)


def _votes(fixed, local_variances, global_variances, active, num_factors):
    """Counts of (fixed factor, active code with least local / global variance)."""
    active_codes = np.flatnonzero(active)
    ratios = local_variances[:, active_codes] / global_variances[active_codes]
    chosen = active_codes[np.argmin(ratios, axis=1)]
    votes = np.zeros((num_factors, len(global_variances)), np.int64)
    np.add.at(votes, (fixed, chosen), 1)
    return votes


def _vote_accuracies(train_votes, eval_votes):
    """Accuracies of the majority-vote classifier (code -> factor) fitted on train_votes."""
    classifier = np.argmax(train_votes, axis=0)
    codes = np.arange(train_votes.shape[1])
    return tuple(
        float(np.sum(votes[classifier, codes]) / np.sum(votes))
        for votes in (train_votes, eval_votes)
    )


def _scores(train_accuracy, eval_accuracy, num_active_dims):
    return {
        "factor_vae": eval_accuracy,
        "factor_vae.eval_accuracy": eval_accuracy,
        "factor_vae.train_accuracy": train_accuracy,
        "factor_vae.num_active_dims": float(num_active_dims),
    }
