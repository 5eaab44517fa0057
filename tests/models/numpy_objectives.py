"""The losses of the successors' objectives written out in numpy: the tests' references."""

import numpy as np
from scipy.special import expit, logsumexp


def reconstruction_loss(logits, images):
    """Mean over the batch of the Bernoulli negative log-likelihood, summed over pixels."""
    logits, images = logits.reshape(len(logits), -1), images.reshape(len(images), -1)
    return np.mean(np.sum(np.logaddexp(0.0, logits) - images * logits, axis=1))


def kl_loss(z_mean, z_log_var):
    return np.mean(0.5 * np.sum(z_mean ** 2 + np.exp(z_log_var) - z_log_var - 1, axis=1))


def total_correlation(z, z_mean, z_log_var, dataset_size):
    """Chen et al.'s minibatch-weighted sampling estimate."""
    log_probs = -0.5 * (np.log(2 * np.pi) + z_log_var[None]
                        + (z[:, None] - z_mean[None]) ** 2 / np.exp(z_log_var[None]))
    log_count = np.log(dataset_size * len(z))
    log_joint = logsumexp(log_probs.sum(axis=2), axis=1) - log_count
    log_marginals = (logsumexp(log_probs, axis=1) - log_count).sum(axis=1)
    return np.mean(log_joint - log_marginals)


def dip_penalty(z_mean, z_log_var, dip_type, lambda_od, lambda_d):
    covariance = np.cov(z_mean, rowvar=False, bias=True)
    if dip_type == "ii":
        covariance = covariance + np.diag(np.exp(z_log_var).mean(axis=0))
    diagonal = np.diag(covariance)
    off_diagonal = covariance - np.diag(diagonal)
    return lambda_od * (off_diagonal ** 2).sum() + lambda_d * ((diagonal - 1) ** 2).sum()


def annealed_capacity(step, max_capacity, capacity_steps):
    return min(max_capacity, max_capacity * step / capacity_steps)


def discriminator_logits(weights, codes):
    """Dense layers with leaky ReLU (0.2) to two logits; `weights` [kernel, bias, ...]."""
    hidden = codes
    for index in range(0, len(weights) - 2, 2):
        hidden = hidden @ weights[index] + weights[index + 1]
        hidden = np.where(hidden > 0, hidden, 0.2 * hidden)
    return hidden @ weights[-2] + weights[-1]


def density_ratio_total_correlation(logits):
    probability = expit(logits[:, 0] - logits[:, 1])  # softmax's first class
    return np.mean(np.log(probability / (1 - probability)))
