"""AnnealedVAE: the KL term pulled to a capacity that grows linearly over the steps."""

import keras
from keras import ops

from bvae_tf.models import checks, objectives
from bvae_tf.models.beta_vae import BetaVAE


@keras.saving.register_keras_serializable(package="bvae_tf")
class AnnealedVAE(BetaVAE):
    """AnnealedVAE: beta * |KL - C| in place of beta * KL, C raised linearly over the steps.

        loss = reconstruction_loss + beta * |kl_loss - capacity|
        capacity = min(max_capacity, max_capacity * annealing_step / capacity_steps)

    `beta` is Burgess et al.'s gamma (1000 in their dSprites runs; the zoo's default beta
    of 1.0 is far weaker). `annealing_step`, a non-trainable weight, counts the training
    steps: it is saved with the model (`.keras` files and `save_weights`, hence
    `bvae_tf.training`'s resume state), so a reloaded model goes on with the schedule.
    The step's capacity is reported as `capacity`. At capacity 0 the loss is the
    beta-VAE's.

    Args:
        max_capacity: float >= 0, the final capacity in nats. Defaults to 25.0.
        capacity_steps: int >= 1, training steps until C reaches `max_capacity`. Defaults
            to 100000 (Burgess et al.; disentanglement_lib's `iteration_threshold`).
        **kwargs: `BetaVAE` arguments.

    Raises:
        ValueError: on a negative `max_capacity` or `capacity_steps` < 1, or as `BetaVAE`.

    Example:
    >>> model = AnnealedVAE(max_capacity=20.0, capacity_steps=10, architecture="fc",
    ...                     image_shape=(8, 8, 1), latent_dim=2, encoder_units=(16,),
    ...                     decoder_units=(16,), seed=0)
    >>> _ = model.annealing_step.assign(5)
    >>> model.capacity
    10.0

    References:
        Burgess et al., "Understanding disentangling in beta-VAE", 2018, Eq. 8.
    """

    def __init__(self, max_capacity=25.0, capacity_steps=100_000, **kwargs):
        self.max_capacity = checks.check_non_negative(max_capacity, "max_capacity")
        self.capacity_steps = checks.check_count(capacity_steps, "capacity_steps")
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.annealing_step = self.add_weight(shape=(), dtype="int64", trainable=False,
                                              initializer="zeros", name="annealing_step")
        self.capacity_tracker = keras.metrics.Mean(name="capacity")
        super().build(input_shape)

    @property
    def capacity(self):
        """float: the capacity C of the next training step, in nats."""
        return float(objectives.annealed_capacity(self.annealing_step, self.max_capacity,
                                                  self.capacity_steps))

    def train_step(self, data):
        logs = super().train_step(data)
        self.annealing_step.assign_add(1)
        return logs

    def regularizer(self, kl_loss, y_pred):
        """Returns `beta * |kl_loss - capacity|` (0 at beta = 0)."""
        capacity = objectives.annealed_capacity(self.annealing_step, self.max_capacity,
                                                self.capacity_steps)
        self.capacity_tracker.update_state(capacity)
        beta = ops.cast(self.beta_variable, kl_loss.dtype)
        return ops.where(beta > 0.0, beta * ops.abs(kl_loss - capacity), 0.0)

    def get_config(self):
        return {**super().get_config(), "max_capacity": self.max_capacity,
                "capacity_steps": self.capacity_steps}
