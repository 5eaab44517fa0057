"""beta-TCVAE: the beta-VAE's loss plus a weighted total correlation of the codes."""

import keras

from bvae_tf.models import checks, objectives
from bvae_tf.models.beta_vae import BetaVAE


@keras.saving.register_keras_serializable(package="bvae_tf")
class BetaTCVAE(BetaVAE):
    """beta-TCVAE: the KL term plus `tc_weight` times the codes' total correlation.

        loss = reconstruction_loss + beta * kl_loss + tc_weight * total_correlation
        total_correlation ~= KL(q(z) || prod_j q(z_j))   (minibatch-weighted sampling)

    At beta = 1 this is Chen et al.'s Eq. 5 with alpha = gamma = 1 and their beta equal to
    `tc_weight + 1`, as disentanglement_lib's `BetaTCVAE` (`(beta - 1) * tc + kl_loss`).
    The estimate (`bvae_tf.models.objectives.total_correlation`) takes a fresh sample of
    each posterior from the model's seed generator (the decoder's sample stays inside
    `call`) and is reported as `total_correlation` beside the two losses.

    Args:
        tc_weight: float >= 0, the total correlation's weight on top of the KL term's.
            Defaults to 5.0 (Chen et al.'s beta = 6, disentanglement_lib's default).
        dataset_size: int >= 1, N, the number of training examples: the estimator weighs
            the batch by 1 / (N * batch) (it moves the estimate by a constant). Required.
        **kwargs: `BetaVAE` arguments (`beta` weighs the KL term, 1.0 by default).

    Raises:
        ValueError: on a negative `tc_weight` or a missing `dataset_size`, or as `BetaVAE`.

    Example:
    >>> model = BetaTCVAE(tc_weight=5.0, dataset_size=100, architecture="fc",
    ...                   image_shape=(8, 8, 1), latent_dim=2, encoder_units=(16,),
    ...                   decoder_units=(16,), seed=0)
    >>> model.get_config()["tc_weight"], model.get_config()["dataset_size"]
    (5.0, 100)

    References:
        Chen, Li, Grosse and Duvenaud, "Isolating Sources of Disentanglement in
        Variational Autoencoders", NeurIPS 2018, Eq. 5 (as disentanglement_lib cites it)
        and minibatch-weighted sampling.
    """

    def __init__(self, tc_weight=5.0, dataset_size=None, **kwargs):
        self.tc_weight = checks.check_non_negative(tc_weight, "tc_weight")
        if dataset_size is None:
            raise ValueError("BetaTCVAE needs dataset_size, the number of training examples "
                             "(the zoo's entries pass the shapes train split's).")
        self.dataset_size = checks.check_count(dataset_size, "dataset_size")
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.total_correlation_tracker = keras.metrics.Mean(name="total_correlation")
        super().build(input_shape)

    def regularizer(self, kl_loss, y_pred):
        """Returns `beta * kl_loss + tc_weight * total_correlation` of the batch."""
        z_mean, z_log_var = y_pred["z_mean"], y_pred["z_log_var"]
        z = objectives.sample_posterior(z_mean, z_log_var, self.seed_generator)
        total_correlation = objectives.total_correlation(z, z_mean, z_log_var,
                                                         self.dataset_size)
        self.total_correlation_tracker.update_state(total_correlation)
        return super().regularizer(kl_loss, y_pred) + self.tc_weight * total_correlation

    def get_config(self):
        return {**super().get_config(), "tc_weight": self.tc_weight,
                "dataset_size": self.dataset_size}
