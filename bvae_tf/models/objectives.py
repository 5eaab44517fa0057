"""The penalties of beta-VAE's successors: pure functions of one batch's codes.

Each takes tensors or numpy arrays [batch, latent_dim] and returns a float32 tensor, so a
test checks it against a few lines of numpy. The models (`BetaTCVAE`, `DIPVAE`,
`AnnealedVAE`, `FactorVAE`) add them to the beta-VAE's loss.

    sample_posterior    z ~ q(z | x), reparameterized
    total_correlation   KL(q(z) || prod_j q(z_j)), minibatch-weighted sampling  (beta-TCVAE)
    dip_covariance      Cov_p(x)[E_q(z|x) z] (+ E_p(x) Cov_q(z|x) z for "ii")  (DIP-VAE)
    dip_penalty         lambda_od * sum_{i!=j} C_ij^2 + lambda_d * sum_i (C_ii - 1)^2
    annealed_capacity   C(step) = min(max_capacity, max_capacity * step / capacity_steps)
    permute_dims        samples of prod_j q(z_j): each column shuffled apart    (FactorVAE)
    density_ratio_total_correlation   E[log D(z) / (1 - D(z))] from discriminator logits
    discriminator_loss  the discriminator's cross-entropy: codes class 0, permuted class 1

References:
    Chen et al., "Isolating Sources of Disentanglement in VAEs", NeurIPS 2018, Eq. 5 (as
    disentanglement_lib cites it) and the minibatch-weighted sampling estimator; Kumar et al., "Variational Inference of
    Disentangled Latent Concepts from Unlabeled Observations", ICLR 2018, Eq. 6 and 7;
    Burgess et al., "Understanding disentangling in beta-VAE", 2018, Eq. 8; Kim and Mnih,
    "Disentangling by Factorising", ICML 2018, Eq. 2 and Algorithm 1 and 2.
"""

import math

import keras
from keras import ops

DIP_TYPES = ("i", "ii")


def _float32(tensor):
    return ops.cast(ops.convert_to_tensor(tensor), "float32")


def gaussian_log_density(samples, mean, log_var):
    """Returns log N(samples; mean, exp(log_var)) elementwise (broadcasting), in nats.

    Example:
    >>> round(float(gaussian_log_density(0.0, 0.0, 0.0)), 4)  # -0.5 log(2 pi)
    -0.9189
    """
    samples, mean, log_var = (_float32(value) for value in (samples, mean, log_var))
    return -0.5 * (math.log(2.0 * math.pi) + log_var
                   + ops.square(samples - mean) * ops.exp(-log_var))


def sample_posterior(z_mean, z_log_var, seed):
    """Returns z = z_mean + exp(z_log_var / 2) * noise, noise ~ N(0, I): one z ~ q(z | x).

    Example:
    >>> ops.convert_to_numpy(sample_posterior(ops.ones((1, 2)), ops.full((1, 2), -100.0),
    ...                                       seed=0)).tolist()
    [[1.0, 1.0]]
    """
    z_mean, z_log_var = _float32(z_mean), _float32(z_log_var)
    noise = keras.random.normal(ops.shape(z_mean), seed=seed)
    return z_mean + ops.exp(0.5 * z_log_var) * noise


def total_correlation(z, z_mean, z_log_var, dataset_size):
    """Returns the minibatch-weighted-sampling estimate of TC = KL(q(z) || prod_j q(z_j)).

    With B codes z_i ~ q(z | x_i) of a batch drawn from N examples (Chen et al.'s MWS):

        log q(z_i)   ~= logsumexp_k log q(z_i | x_k)     - log(N * B)
        log q(z_ij)  ~= logsumexp_k log q(z_ij | x_k)    - log(N * B)
        TC           ~= mean_i [log q(z_i) - sum_j log q(z_ij)]

    The estimate is that of disentanglement_lib (which drops the constants) plus
    (latent_dim - 1) * log(N * B): the constant moves the value, not the gradients.

    Args:
        z: [batch, latent_dim], one sample of each posterior.
        z_mean: [batch, latent_dim], the posteriors' means.
        z_log_var: [batch, latent_dim], their log variances.
        dataset_size: int >= 1, N, the number of training examples.

    Returns:
        Float32 scalar tensor, in nats.

    Example:
    >>> zeros = ops.zeros((4, 3))  # one shared posterior: q(z) = N(0, I)
    >>> round(float(total_correlation(zeros, zeros, zeros, dataset_size=1)), 4)
    0.0
    """
    log_probs = gaussian_log_density(ops.expand_dims(z, 1), ops.expand_dims(z_mean, 0),
                                     ops.expand_dims(z_log_var, 0))  # [i, k, j]
    batch = log_probs.shape[0]
    if batch is None:  # traced for batches of any size (a partial last one): known when run
        batch = ops.cast(ops.shape(log_probs)[0], log_probs.dtype)
        log_count = ops.log(float(dataset_size) * batch)
    else:
        log_count = math.log(float(dataset_size) * float(batch))
    log_joint = ops.logsumexp(ops.sum(log_probs, axis=2), axis=1) - log_count
    log_marginals = ops.sum(ops.logsumexp(log_probs, axis=1) - log_count, axis=1)
    return ops.mean(log_joint - log_marginals)


def dip_covariance(z_mean, z_log_var, dip_type):
    """Returns DIP-VAE's covariance of the codes, [latent_dim, latent_dim].

        "i":  Cov_p(x)[mu(x)]                                     (Kumar et al., Eq. 6)
        "ii": Cov_p(x)[mu(x)] + E_p(x)[diag(exp(log_var(x)))]     (Eq. 7: Cov_q(z)[z])

    The batch stands for p(x); the covariance divides by the batch size.

    Raises:
        ValueError: if `dip_type` is not "i" or "ii".

    Example:
    >>> means = [[1.0, 0.0], [-1.0, 0.0]]
    >>> ops.convert_to_numpy(dip_covariance(means, ops.zeros((2, 2)), "ii")).tolist()
    [[2.0, 0.0], [0.0, 1.0]]
    """
    if dip_type not in DIP_TYPES:
        raise ValueError(f"dip_type must be one of {DIP_TYPES} (DIP-VAE I or II); "
                         f"got {dip_type!r}.")
    centred = _float32(z_mean) - ops.mean(_float32(z_mean), axis=0, keepdims=True)
    covariance = ops.matmul(ops.transpose(centred), centred) / ops.cast(
        ops.shape(centred)[0], "float32")
    if dip_type == "i":
        return covariance
    return covariance + ops.diag(ops.mean(ops.exp(_float32(z_log_var)), axis=0))


def dip_penalty(covariance, lambda_od, lambda_d):
    """Returns lambda_od * sum_{i!=j} C_ij^2 + lambda_d * sum_i (C_ii - 1)^2 (Kumar et al.).

    Zero exactly when `covariance` is the identity.

    Example:
    >>> float(dip_penalty(ops.eye(3), lambda_od=10.0, lambda_d=100.0))
    0.0
    >>> float(dip_penalty([[2.0, 0.5], [0.5, 1.0]], lambda_od=1.0, lambda_d=10.0))
    10.5
    """
    covariance = _float32(covariance)
    diagonal = ops.diagonal(covariance)
    off_diagonal = covariance - ops.diag(diagonal)
    return (lambda_od * ops.sum(ops.square(off_diagonal))
            + lambda_d * ops.sum(ops.square(diagonal - 1.0)))


def annealed_capacity(step, max_capacity, capacity_steps):
    """Returns AnnealedVAE's capacity C after `step` steps, in nats (Burgess et al., Eq. 8).

        C(step) = min(max_capacity, max_capacity * step / capacity_steps)

    Example:
    >>> [float(annealed_capacity(step, 25.0, 100)) for step in (0, 40, 100, 500)]
    [0.0, 10.0, 25.0, 25.0]
    """
    fraction = _float32(step) / float(capacity_steps)
    return ops.minimum(float(max_capacity), float(max_capacity) * fraction)


def permute_dims(z, seed):
    """Returns `z` with each column shuffled on its own: samples of prod_j q(z_j).

    Kim and Mnih's Algorithm 1; the batch's codes stand for samples of q(z).

    Args:
        z: [batch, latent_dim] codes.
        seed: int or `keras.random.SeedGenerator`.

    Example:
    >>> codes = ops.reshape(ops.arange(8, dtype="float32"), (4, 2))
    >>> permuted = ops.convert_to_numpy(permute_dims(codes, seed=0))
    >>> sorted(permuted[:, 0].tolist()), sorted(permuted[:, 1].tolist())
    ([0.0, 2.0, 4.0, 6.0], [1.0, 3.0, 5.0, 7.0])
    """
    z = ops.convert_to_tensor(z)
    order = ops.argsort(keras.random.uniform(ops.shape(z), seed=seed), axis=0)
    return ops.take_along_axis(z, order, axis=0)


def density_ratio_total_correlation(logits):
    """Returns TC ~= mean(logits[:, 0] - logits[:, 1]) (Kim and Mnih, Eq. 2 and Section 3).

    With a discriminator D(z) = softmax(logits)[:, 0] telling q(z) (class 0) from
    prod_j q(z_j) (class 1), log(D / (1 - D)) is the logit difference.

    Example:
    >>> float(density_ratio_total_correlation([[2.0, 0.5], [1.0, 1.5]]))
    0.5
    """
    logits = _float32(logits)
    return ops.mean(logits[:, 0] - logits[:, 1])


def discriminator_loss(code_logits, permuted_logits):
    """Returns the discriminator's cross-entropy: codes are class 0, permuted codes class 1.

        loss = -0.5 * (mean log D(z) + mean log(1 - D(permute_dims(z))))

    Example:
    >>> round(float(discriminator_loss(ops.zeros((3, 2)), ops.zeros((3, 2)))), 4)  # log 2
    0.6931
    """
    code_log_probs = ops.log_softmax(_float32(code_logits), axis=1)
    permuted_log_probs = ops.log_softmax(_float32(permuted_logits), axis=1)
    return -0.5 * (ops.mean(code_log_probs[:, 0]) + ops.mean(permuted_log_probs[:, 1]))


__all__ = ["DIP_TYPES", "annealed_capacity", "density_ratio_total_correlation",
           "dip_covariance", "dip_penalty", "discriminator_loss", "gaussian_log_density",
           "permute_dims", "sample_posterior", "total_correlation"]
