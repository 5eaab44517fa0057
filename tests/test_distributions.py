"""The loss terms against their closed forms."""

import numpy as np
import pytest
import tensorflow as tf

from bvae_tf import distributions


def test_kl_divergence_is_the_closed_form():
    rng = np.random.default_rng(0)
    z_mean, z_log_var = rng.normal(size=(2, 5, 3)).astype(np.float32)
    expected = 0.5 * (z_mean**2 + np.exp(z_log_var) - z_log_var - 1).sum(axis=1)
    actual = distributions.kl_divergence(tf.constant(z_mean), tf.constant(z_log_var))
    np.testing.assert_allclose(actual.numpy(), expected, rtol=1e-5)
    zero = distributions.kl_divergence(tf.zeros([2, 4]), tf.zeros([2, 4]))
    np.testing.assert_array_equal(zero.numpy(), [0.0, 0.0])


@pytest.mark.parametrize("rank", [2, 4])
def test_bernoulli_log_likelihood_is_minus_the_cross_entropy(rank):
    rng = np.random.default_rng(1)
    shape = (3, 12) if rank == 2 else (3, 4, 3, 1)
    logits = rng.normal(scale=3, size=shape).astype(np.float32)
    targets = rng.random(shape).astype(np.float32)  # grey values, as MNIST's
    probability = 1 / (1 + np.exp(-logits.astype(np.float64)))
    expected = (targets * np.log(probability) + (1 - targets) * np.log(1 - probability))
    expected = expected.reshape(3, -1).sum(axis=1)
    actual = distributions.bernoulli_log_likelihood(tf.constant(logits), tf.constant(targets))
    np.testing.assert_allclose(actual.numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("rank", [2, 4])
def test_gaussian_log_likelihood_is_unit_variance_normal_summed_over_pixels(rank):
    rng = np.random.default_rng(3)
    shape = (3, 12) if rank == 2 else (3, 4, 3, 2)
    means = rng.normal(size=shape).astype(np.float32)
    targets = rng.normal(scale=2, size=shape).astype(np.float32)  # standardized, not [0, 1]
    pixels = (targets.astype(np.float64) - means) ** 2
    expected = -0.5 * pixels.reshape(3, -1).sum(axis=1) - 0.5 * means[0].size * np.log(2 * np.pi)
    actual = distributions.log_likelihood("gaussian", tf.constant(means), tf.constant(targets))
    np.testing.assert_allclose(actual.numpy(), expected, rtol=1e-5)
    means = distributions.pixel_means("gaussian", tf.constant(means, tf.bfloat16))
    assert means.dtype == tf.float32  # the identity, in float32


def test_posterior_and_prior_families():
    posterior = distributions.posterior(tf.zeros([2, 3]), tf.fill([2, 3], float(np.log(4.0))))
    np.testing.assert_allclose(posterior.stddev().numpy(), 2.0)
    prior = distributions.prior_like(tf.ones([2, 3]))
    assert type(prior) is type(posterior)
    np.testing.assert_array_equal(prior.mean().numpy(), np.zeros((2, 3)))
