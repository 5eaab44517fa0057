"""The few distributions of a beta-VAE, built from tensors at the loss boundary.

Layers return tensors; these functions turn them into `tfp.distributions` objects and the
two terms of the loss. TFP stays here and in `BetaVAE.compute_loss`: `tfp.layers` are
Keras 2 layers and do not work in Keras 3 models.

    distortion = -log p(x | z)            Bernoulli on logits, or Gaussian of unit variance
                                          on means, summed over pixels
    rate       = KL(q(z | x) || p(z))     analytic, summed over latents

References:
    Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014, Appendix B (the
    analytic KL of two diagonal Gaussians).
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from sklearn.utils import check_random_state

tfd = tfp.distributions

# The decoder's pixel distributions p(x | z): what its outputs parametrize.
LIKELIHOODS = ("bernoulli", "gaussian")


def _at_least_float32(tensor):
    """Casts bfloat16 and float16 tensors to float32: sums over many terms stay float32."""
    tensor = tf.convert_to_tensor(tensor)
    return tf.cast(tensor, tf.float32) if tensor.dtype.size < 4 else tensor


def posterior(z_mean, z_log_var):
    """Returns the encoder's posterior q(z | x), a diagonal Gaussian.

    Args:
        z_mean: float tensor [batch, latent_dim], the means.
        z_log_var: float tensor [batch, latent_dim], the log variances.

    Returns:
        `tfd.MultivariateNormalDiag` with batch shape [batch] and event shape [latent_dim].

    Example:
    >>> q = posterior(tf.zeros([2, 3]), tf.zeros([2, 3]))
    >>> q.event_shape.as_list()
    [3]
    """
    return tfd.MultivariateNormalDiag(loc=z_mean, scale_diag=tf.exp(0.5 * z_log_var))


def prior_like(z_mean):
    """Returns the standard-normal prior p(z) of the posterior's family and shape.

    Args:
        z_mean: float tensor [batch, latent_dim]; only its shape and dtype are used.

    Returns:
        `tfd.MultivariateNormalDiag` N(0, I) with batch shape [batch].

    Example:
    >>> float(prior_like(tf.zeros([1, 2])).log_prob([[0.0, 0.0]])[0])  # -log(2 pi)
    -1.8378770351409912
    """
    return tfd.MultivariateNormalDiag(
        loc=tf.zeros_like(z_mean), scale_diag=tf.ones_like(z_mean)
    )


def kl_divergence(z_mean, z_log_var):
    """Returns the analytic KL(q(z | x) || N(0, I)) of every example, in nats.

    Equals `0.5 * sum(z_mean**2 + exp(z_log_var) - z_log_var - 1)` over latents,
    computed in float32 at least (bfloat16 inputs are cast up).

    Args:
        z_mean: float tensor [batch, latent_dim].
        z_log_var: float tensor [batch, latent_dim].

    Returns:
        Float tensor [batch], the rate of each example.

    Example:
    >>> kl_divergence(tf.ones([1, 2]), tf.zeros([1, 2])).numpy()  # 0.5 * (1 + 1)
    array([1.], dtype=float32)
    """
    z_mean, z_log_var = _at_least_float32(z_mean), _at_least_float32(z_log_var)
    return tfd.kl_divergence(posterior(z_mean, z_log_var), prior_like(z_mean))


def bernoulli_log_likelihood(logits, targets):
    """Returns log p(targets | logits) of every example, summed over all pixels.

    Each pixel is a Bernoulli variable with the given logit; `targets` may be grey
    values in [0, 1] (MNIST), where this is minus the sigmoid cross-entropy. Computed in
    float32 at least: bfloat16 logits are cast up before the sum over pixels.

    Args:
        logits: float tensor [batch, height, width, channels] (any rank >= 2).
        targets: float tensor of the same shape, values in [0, 1].

    Returns:
        Float tensor [batch].

    Example:
    >>> round(float(bernoulli_log_likelihood(tf.zeros([1, 2, 2, 1]),
    ...                                      tf.ones([1, 2, 2, 1]))[0]), 4)  # 4 log(1/2)
    -2.7726
    """
    logits = _at_least_float32(logits)
    flat_logits = tf.reshape(logits, [tf.shape(logits)[0], -1])
    flat_targets = tf.reshape(tf.cast(targets, logits.dtype), tf.shape(flat_logits))
    return _log_likelihood(flat_logits, flat_targets)


@tf.custom_gradient
def _log_likelihood(logits, targets):
    """sum(targets * logits - softplus(logits)) per row, with a hand-written gradient.

    The gradient `targets - sigmoid(logits)` takes 3 passes over the pixels instead of
    autodiff's 6; the value is the same as TFP's `Bernoulli(logits).log_prob(targets)`.
    """
    log_likelihood = tf.reduce_sum(targets * logits - tf.nn.softplus(logits), axis=1)

    def gradient(upstream):
        upstream = upstream[:, tf.newaxis]
        return upstream * (targets - tf.sigmoid(logits)), upstream * logits

    return log_likelihood, gradient


def gaussian_log_likelihood(means, targets):
    """Returns log p(targets | means) of every example under N(means, 1), summed over pixels.

        log p = -0.5 * sum((targets - means)**2) - 0.5 * D * log(2 pi),   D pixels

    The variance is fixed at 1 in the data's units: scale the data so that unit noise fits it
    (e.g. standardize it), or lower beta. Computed in float32 at least.

    Args:
        means: float tensor [batch, height, width, channels] (any rank >= 2).
        targets: float tensor of the same shape, any real values.

    Returns:
        Float tensor [batch].

    Example:
    >>> round(float(gaussian_log_likelihood(tf.zeros([1, 2, 2, 1]),
    ...                                     tf.ones([1, 2, 2, 1]))[0]), 4)  # -2 - 2 log(2 pi)
    -5.6758
    """
    means = _at_least_float32(means)
    flat_means = tf.reshape(means, [tf.shape(means)[0], -1])
    flat_targets = tf.reshape(tf.cast(targets, means.dtype), tf.shape(flat_means))
    pixels = tfd.Independent(tfd.Normal(flat_means, 1.0), reinterpreted_batch_ndims=1)
    return pixels.log_prob(flat_targets)


def log_likelihood(likelihood, outputs, targets):
    """Returns log p(targets | z) of every example, [batch], from the decoder's `outputs`.

    Args:
        likelihood: str, one of `LIKELIHOODS`: "bernoulli" (`outputs` are logits, see
            `bernoulli_log_likelihood`) or "gaussian" (`outputs` are the means, see
            `gaussian_log_likelihood`).
        outputs: float tensor [batch, height, width, channels], the decoder's outputs.
        targets: float tensor of the same shape.
    """
    if likelihood == "gaussian":
        return gaussian_log_likelihood(outputs, targets)
    return bernoulli_log_likelihood(outputs, targets)


def pixel_means(likelihood, outputs):
    """Returns E[x | z] from the decoder's `outputs`: sigmoid(logits), or the Gaussian means.

    Example:
    >>> pixel_means("bernoulli", tf.zeros([1, 2])).numpy().tolist()
    [[0.5, 0.5]]
    >>> pixel_means("gaussian", [[3.0]]).numpy().tolist()
    [[3.0]]
    """
    outputs = _at_least_float32(outputs)
    return tf.sigmoid(outputs) if likelihood == "bernoulli" else outputs


def sample_codes(z_mean, z_log_var, random_state):
    """Draws codes z ~ N(z_mean, exp(z_log_var)), float32 numpy [N, latent_dim].

    The one place a posterior is sampled outside a training step: `BetaVAE.sample_codes` and
    `bvae_tf.export.Encoder.sample_codes` (the MNIST study's SVM features) both call it.

    Args:
        z_mean: float array [N, latent_dim].
        z_log_var: float array [N, latent_dim], log variances.
        random_state: int, `np.random.RandomState` or None (`check_random_state`).

    Example:
    >>> import numpy as np
    >>> codes = sample_codes(np.zeros((20000, 1)), np.full((20000, 1), np.log(4.0)), 0)
    >>> round(float(codes.std()), 1), codes.dtype
    (2.0, dtype('float32'))
    """
    noise = check_random_state(random_state).standard_normal(np.shape(z_mean))
    return (z_mean + np.exp(0.5 * np.asarray(z_log_var)) * noise).astype(np.float32)
