"""FactorVAE: the beta-VAE's loss plus a total correlation a discriminator estimates."""

import keras
import numpy as np
import tensorflow as tf

from bvae_tf.models import checks, objectives
from bvae_tf.models.beta_vae import BetaVAE


@keras.saving.register_keras_serializable(package="bvae_tf")
class FactorVAE(BetaVAE):
    """FactorVAE: the KL term plus `tc_weight` times a density-ratio total correlation.

        loss = reconstruction_loss + beta * kl_loss + tc_weight * total_correlation
        total_correlation ~= mean_i log(D(z_i) / (1 - D(z_i)))      (Kim and Mnih, Eq. 2)

    D is a discriminator (dense layers, leaky ReLU, two logits) telling codes z ~ q(z)
    from codes whose columns were shuffled apart (samples of prod_j q(z_j)); z is a fresh
    sample of each posterior from the model's seed generator. Each
    `train_step` first updates the VAE (the discriminator held fixed: it is not among
    `trainable_weights`), then the discriminator, with its own optimizer
    (`discriminator_optimizer`), on codes of the same batch (`train_discriminator`).
    Both the discriminator and its optimizer's state are saved with the model. Reported:
    `total_correlation` and `discriminator_loss` (in `evaluate`, the discriminator's loss on
    the validation batch's codes, untrained there).

    Args:
        tc_weight: float >= 0, Kim and Mnih's gamma. Defaults to 10.0.
        discriminator_units: tuple of int, the discriminator's hidden layers. Defaults to
            six of 1000 (Kim and Mnih, Appendix; disentanglement_lib).
        discriminator_learning_rate: float > 0, its Adam's learning rate (beta_1 0.5,
            beta_2 0.9, as Kim and Mnih). Defaults to 1e-4.
        **kwargs: `BetaVAE` arguments (`beta` weighs the KL term, 1.0 by default).

    Raises:
        ValueError: on a negative weight, empty or non-positive units, or as `BetaVAE`.

    Example:
    >>> model = FactorVAE(discriminator_units=(8, 8), architecture="fc",
    ...                   image_shape=(8, 8, 1), latent_dim=2, encoder_units=(16,),
    ...                   decoder_units=(16,), seed=0)
    >>> model.discriminator(np.zeros((3, 2), "float32")).shape
    TensorShape([3, 2])

    References:
        Kim and Mnih, "Disentangling by Factorising", ICML 2018, Eq. 2, Algorithm 2 and
        Appendix (architecture and optimizer).
    """

    def __init__(self, tc_weight=10.0, discriminator_units=(1000,) * 6,
                 discriminator_learning_rate=1e-4, **kwargs):
        self.tc_weight = checks.check_non_negative(tc_weight, "tc_weight")
        units = tuple(discriminator_units)
        if not units or any(isinstance(size, bool) or not isinstance(size, (int, np.integer))
                            or size < 1 for size in units):
            raise ValueError("discriminator_units must be a non-empty tuple of whole numbers "
                             f">= 1; got {discriminator_units!r}.")
        self.discriminator_units = tuple(int(size) for size in units)
        learning_rate = checks.check_non_negative(discriminator_learning_rate,
                                                  "discriminator_learning_rate")
        if learning_rate == 0:
            raise ValueError("discriminator_learning_rate must be > 0; got 0.")
        self.discriminator_learning_rate = learning_rate
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.discriminator = _discriminator(self.discriminator_units, self.latent_dim,
                                            self.seed)
        self.discriminator_optimizer = keras.optimizers.Adam(
            learning_rate=self.discriminator_learning_rate, beta_1=0.5, beta_2=0.9)
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)
        self.total_correlation_tracker = keras.metrics.Mean(name="total_correlation")
        self.discriminator_loss_tracker = keras.metrics.Mean(name="discriminator_loss")
        super().build(input_shape)

    @property
    def trainable_weights(self):
        """The VAE's trainable weights: the discriminator's are trained on their own."""
        own = {id(variable) for variable in self.discriminator.trainable_weights}
        return [variable for variable in super().trainable_weights if id(variable) not in own]

    @property
    def trainable_variables(self):
        return self.trainable_weights

    def regularizer(self, kl_loss, y_pred):
        """Returns `beta * kl_loss + tc_weight * total_correlation` of the batch."""
        z = objectives.sample_posterior(y_pred["z_mean"], y_pred["z_log_var"],
                                        self.seed_generator)
        total_correlation = objectives.density_ratio_total_correlation(
            self.discriminator(z, training=False))
        self.total_correlation_tracker.update_state(total_correlation)
        return super().regularizer(kl_loss, y_pred) + self.tc_weight * total_correlation

    def train_step(self, data):
        logs = super().train_step(data)
        images = keras.utils.unpack_x_y_sample_weight(self._draw(data, "train"))[0]
        # The updated encoder's codes, batch norm on the batch's moments as in training.
        outputs = self._with_batch_statistics(images)
        codes = objectives.sample_posterior(outputs["z_mean"], outputs["z_log_var"],
                                            self.seed_generator)
        self.discriminator_loss_tracker.update_state(self.train_discriminator(codes))
        return {**logs, "discriminator_loss": self.discriminator_loss_tracker.result()}

    def test_step(self, data):
        logs = super().test_step(data)
        images = keras.utils.unpack_x_y_sample_weight(self._draw(data, "validation"))[0]
        outputs = self(images, training=False)
        codes = objectives.sample_posterior(outputs["z_mean"], outputs["z_log_var"],
                                            self.seed_generator)
        permuted = objectives.permute_dims(codes, self.seed_generator)
        self.discriminator_loss_tracker.update_state(objectives.discriminator_loss(
            self.discriminator(codes, training=False),
            self.discriminator(permuted, training=False)))
        return {**logs, "discriminator_loss": self.discriminator_loss_tracker.result()}

    def train_discriminator(self, codes):
        """One step of the discriminator on `codes` [batch, latent_dim] (Algorithm 2).

        Returns:
            Float32 scalar tensor, its cross-entropy before the step.
        """
        codes = tf.stop_gradient(tf.cast(codes, tf.float32))
        permuted = objectives.permute_dims(codes, self.seed_generator)
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            loss = objectives.discriminator_loss(self.discriminator(codes, training=True),
                                                 self.discriminator(permuted, training=True))
        self.discriminator_optimizer.apply_gradients(zip(tape.gradient(loss, variables),
                                                         variables))
        return loss

    def get_config(self):
        return {**super().get_config(), "tc_weight": self.tc_weight,
                "discriminator_units": self.discriminator_units,
                "discriminator_learning_rate": self.discriminator_learning_rate}


def _discriminator(units, latent_dim, seed):
    """Dense layers, leaky ReLU (slope 0.2), two logits: [batch, latent_dim] -> [batch, 2]."""
    seeds = (None if seed is None else int(np.random.SeedSequence([seed, 1, index])
                                           .generate_state(1)[0])
             for index in range(len(units) + 1))
    layers = [keras.layers.Dense(size, activation=keras.layers.LeakyReLU(negative_slope=0.2),
                                 kernel_initializer=keras.initializers.GlorotUniform(next(seeds)),
                                 dtype="float32") for size in units]
    discriminator = keras.Sequential(
        [*layers, keras.layers.Dense(2, dtype="float32",
                                     kernel_initializer=keras.initializers.GlorotUniform(
                                         next(seeds)))], name="discriminator")
    discriminator.build((None, latent_dim))
    return discriminator
