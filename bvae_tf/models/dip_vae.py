"""DIP-VAE I and II: the beta-VAE's loss plus a penalty on the codes' covariance."""

import keras

from bvae_tf.models import checks, objectives
from bvae_tf.models.beta_vae import BetaVAE


@keras.saving.register_keras_serializable(package="bvae_tf")
class DIPVAE(BetaVAE):
    """DIP-VAE: the KL term plus a penalty pulling the codes' covariance to the identity.

        loss = reconstruction_loss + beta * kl_loss + dip_penalty
        dip_penalty = lambda_od * sum_{i!=j} C_ij^2 + lambda_d * sum_i (C_ii - 1)^2
        C = Cov_p(x)[z_mean]                              dip_type "i"  (Kumar et al., Eq. 6)
        C = Cov_p(x)[z_mean] + E_p(x)[diag(exp(z_log_var))]  dip_type "ii" (Eq. 7)

    The batch stands for p(x) (`bvae_tf.models.objectives.dip_covariance`), as in
    disentanglement_lib's `DIPVAE`. The penalty is reported as `dip_penalty`.

    Args:
        dip_type: str, "i" or "ii". Defaults to "i".
        lambda_od: float >= 0, weight of the off-diagonal entries. Defaults to 10.0.
        lambda_d: float >= 0, weight of the diagonal's distance to 1. Defaults to 100.0
            (Kumar et al. use lambda_d = 10 * lambda_od for I, lambda_d = lambda_od for II).
        **kwargs: `BetaVAE` arguments (`beta` weighs the KL term, 1.0 by default).

    Raises:
        ValueError: on an unknown `dip_type` or a negative weight, or as `BetaVAE`.

    Example:
    >>> model = DIPVAE(dip_type="ii", lambda_od=5.0, lambda_d=5.0, architecture="fc",
    ...                image_shape=(8, 8, 1), latent_dim=2, encoder_units=(16,),
    ...                decoder_units=(16,), seed=0)
    >>> model.get_config()["dip_type"], model.get_config()["lambda_d"]
    ('ii', 5.0)

    References:
        Kumar, Sattigeri and Balakrishnan, "Variational Inference of Disentangled Latent
        Concepts from Unlabeled Observations", ICLR 2018, Eq. 6 and 7.
    """

    def __init__(self, dip_type="i", lambda_od=10.0, lambda_d=100.0, **kwargs):
        if dip_type not in objectives.DIP_TYPES:
            raise ValueError(f"dip_type must be one of {objectives.DIP_TYPES} (DIP-VAE I or "
                             f"II); got {dip_type!r}.")
        self.dip_type = dip_type
        self.lambda_od = checks.check_non_negative(lambda_od, "lambda_od")
        self.lambda_d = checks.check_non_negative(lambda_d, "lambda_d")
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.dip_penalty_tracker = keras.metrics.Mean(name="dip_penalty")
        super().build(input_shape)

    def regularizer(self, kl_loss, y_pred):
        """Returns `beta * kl_loss + dip_penalty` of the batch."""
        covariance = objectives.dip_covariance(y_pred["z_mean"], y_pred["z_log_var"],
                                               self.dip_type)
        penalty = objectives.dip_penalty(covariance, self.lambda_od, self.lambda_d)
        self.dip_penalty_tracker.update_state(penalty)
        return super().regularizer(kl_loss, y_pred) + penalty

    def get_config(self):
        return {**super().get_config(), "dip_type": self.dip_type,
                "lambda_od": self.lambda_od, "lambda_d": self.lambda_d}
