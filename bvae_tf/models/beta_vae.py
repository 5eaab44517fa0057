"""The beta-VAE: one model family for the paper's fully connected and convolutional nets."""

import contextlib
import functools

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from bvae_tf import distributions
from bvae_tf.models import architectures, checks, gradient_registry

ARCHITECTURES = ("fc", "conv")
VALIDATION_STATISTICS = ("moving_averages", "batch_statistics")
# Keras dtype policies a model can be built with; "mixed_bfloat16" keeps float32 variables.
PRECISIONS = ("float32", "mixed_bfloat16")

_CONV_ONLY = ("encoder_filters", "decoder_reshape", "decoder_filters", "output_strides")
_SIZES = ("image_shape", "latent_dim", "encoder_units", "decoder_units")


@keras.saving.register_keras_serializable(package="bvae_tf")
class BetaVAE(keras.Model):
    """A beta-VAE with a Bernoulli (or Gaussian) decoder and a diagonal-Gaussian encoder.

    Loss of a batch (both terms averaged over the batch):

        loss = reconstruction_loss + beta * kl_loss
        reconstruction_loss = -log p(target | z),  z ~ q(z | inputs)   (summed over pixels)
        kl_loss = KL(q(z | inputs) || N(0, I))                        (summed over latents)

    p(target | z) is the `likelihood`'s, parametrized by the decoder's outputs (the
    "logits" of `call`): Bernoulli with those logits (the paper's), or Gaussian with those
    means and unit variance, -log p = 0.5 * sum((target - mean)**2) + 0.5 * D * log(2 pi)
    over the D pixels (`bvae_tf.distributions`).

    At beta = 0 the KL term is dropped from the loss (z is still sampled) and `kl_loss` is
    still reported. The target is the input unless the data gives one: `fit` on
    `(inputs, targets)` pairs trains a denoising model. `call` always samples z, so
    `evaluate` reports the same stochastic estimate as training.

    Args:
        architecture: str, "fc" or "conv". Defaults to "fc".
        image_shape: tuple (height, width, channels). Required.
        latent_dim: int, size of the code. Required.
        encoder_units: tuple of int, hidden dense layers of the encoder. Required.
        decoder_units: tuple of int, hidden dense layers of the decoder. Required.
        encoder_filters: "conv" only (required there): tuple of int, 3x3 stride-2
            convolutions.
        decoder_reshape: "conv" only (required there): (height, width, channels) of the grid
            the last dense layer is reshaped into, or its channels alone (an int): the grid
            is then the image's height and width divided by the decoder's upsampling, and
            `get_config` holds the whole grid.
        decoder_filters: "conv" only (required there): tuple of int, 3x3 stride-2 transposed
            convolutions after the reshape.
        output_strides: "conv" only (required there): int, strides of the final 3x3
            transposed convolution to the logits.
            The paper's sizes are the zoo's (`bvae_tf.zoo.entry(name).model_config()`, and
            `bvae_tf.zoo.build(name)` builds them): the family has no sizes of its own.
        encoder_activation: str, activation of the encoder's hidden layers. Defaults to
            "relu" (authors' code).
        decoder_activation: str, activation of the decoder's hidden layers. Defaults to
            "tanh" (authors' code).
        batch_norm_momentum: float. Defaults to 0.99 (Keras); the authors' decay was 0.999
            (the paper profile's, `docs/protocol.md`, Departures).
        batch_norm_epsilon: float. Defaults to 1e-4 (authors' `util.EPSILON`).
        validation_statistics: str, what batch norm uses when the model is called with
            `training=False`, as `evaluate` and `fit`'s validation do: "moving_averages"
            (Keras) or "batch_statistics" (the authors' validation loss: the batch's own
            moments, the moving averages left untouched). `encode`, `decode` and the exported
            encoder always use the moving averages. Defaults to "moving_averages".
        beta: float >= 0, weight of the KL term; a non-trainable variable, settable later
            through the `beta` property. Defaults to 1.0.
        denoising: bool, whether the model must be trained on (noisy, clean) pairs; `fit`
            refuses clean data. Defaults to False.
        seed: int or None, seeds the initializers and the sampling of z. Defaults to None.
        precision: str or None, "float32" or "mixed_bfloat16": the Keras dtype policy of
            every layer of the encoder and decoder (the model's own; Keras' global policy is
            left alone). None follows Keras' global policy
            (`keras.mixed_precision.set_global_policy`) when it is one of those two and
            raises ValueError for any other, e.g. "mixed_float16"; `get_config` holds the
            policy chosen. Under "mixed_bfloat16" the variables stay float32 and the layers
            compute in bfloat16, except batch norm's statistics, the code heads and the
            loss: `z_mean`, `z_log_var`, the logits seen by the loss and both loss terms
            are float32. Fast only where the hardware runs bfloat16 natively (see
            `bvae_tf.speed`). Defaults to None.
        likelihood: str, the decoder's pixel distribution: "bernoulli" (the paper's: pixels
            in [0, 1], `decode` returns sigmoid(logits)) or "gaussian" (unit variance: any
            real pixels, e.g. standardized RGB, `decode` returns the means). `fit`, `encode`
            and the exported encoder check pixels accordingly. Defaults to "bernoulli".
        **kwargs: `keras.Model` arguments (`name`, `dtype`, `trainable`).

    Raises:
        ValueError: on an unknown architecture, precision or likelihood, an image shape the
            conv decoder cannot produce, inconsistent sizes or a negative beta.

    Example:
    >>> model = BetaVAE(architecture="fc", image_shape=(8, 8, 1), latent_dim=2,
    ...                 encoder_units=(16,), decoder_units=(16,), seed=0)
    >>> sorted(model(np.zeros((3, 8, 8, 1), "float32")))
    ['logits', 'z_log_var', 'z_mean']
    >>> model.encode(np.zeros((3, 8, 8))).shape
    (3, 2)

    References:
        Higgins et al., "beta-VAE: Learning Basic Visual Concepts with a Constrained
        Variational Framework", ICLR 2017; Peychev, Velickovic and Lio, 2017, Section 3.
    """

    def __init__(
        self,
        architecture="fc",
        image_shape=None,
        latent_dim=None,
        encoder_units=None,
        decoder_units=None,
        encoder_filters=None,
        decoder_reshape=None,
        decoder_filters=None,
        output_strides=None,
        encoder_activation="relu",
        decoder_activation="tanh",
        batch_norm_momentum=0.99,
        batch_norm_epsilon=1e-4,
        validation_statistics="moving_averages",
        beta=1.0,
        denoising=False,
        seed=None,
        precision=None,
        likelihood="bernoulli",
        **kwargs,
    ):
        config = _resolve_config(locals())
        # The model's own policy: inputs reach the encoder as float32 under any global policy.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        # === Layers ===
        seeds = architectures.initializer_seeds(seed)
        self.encoder = architectures.build_encoder(config, seeds)
        self.decoder = architectures.build_decoder(config, seeds)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.beta_variable = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(config["beta"]),
            trainable=False, name="beta",
        )
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        # === Config ===
        self._config = config
        for key, value in config.items():
            if key != "beta":
                setattr(self, key, value)
        self.build((None, *self.image_shape))

    @property
    def beta(self):
        """float: the weight of the KL term; assigning it changes the next step's loss."""
        return float(ops.convert_to_numpy(self.beta_variable))

    @beta.setter
    def beta(self, value):
        self.beta_variable.assign(checks.check_beta(value))

    def call(self, inputs, training=None):
        checks.check_batch_shape(inputs.shape, self.image_shape, "BetaVAE.call")
        if not training and self.validation_statistics == "batch_statistics":
            return self._with_batch_statistics(inputs)
        codes = self.encoder(inputs, training=training)
        z_mean, z_log_var = codes["z_mean"], codes["z_log_var"]
        noise = keras.random.normal(
            ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator
        )
        z = z_mean + ops.exp(0.5 * z_log_var) * noise
        logits = ops.cast(self.decoder(z, training=training), "float32")
        return {"z_mean": z_mean, "z_log_var": z_log_var, "logits": logits}

    def _with_batch_statistics(self, inputs):
        """`call` with batch norm on the batch's moments, its moving averages unchanged."""
        moving = [variable for layer in self._batch_norm_layers
                  for variable in (layer.moving_mean, layer.moving_variance)]
        saved = [ops.copy(variable.value) for variable in moving]
        outputs = self.call(inputs, training=True)
        for variable, value in zip(moving, saved):
            variable.assign(value)
        return outputs

    @functools.cached_property
    def _batch_norm_layers(self):
        return [layer for network in (self.encoder, self.decoder) for layer in network.layers
                if isinstance(layer, keras.layers.BatchNormalization)]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Returns the batch loss and updates `reconstruction_loss` and `kl_loss`."""
        if sample_weight is not None:
            raise ValueError("BetaVAE does not support sample_weight; pass None.")
        targets = x if y is None else y
        distortion = -distributions.log_likelihood(self.likelihood, y_pred["logits"], targets)
        rate = distributions.kl_divergence(y_pred["z_mean"], y_pred["z_log_var"])
        reconstruction_loss = ops.mean(distortion)
        kl_loss = ops.mean(rate)
        loss = reconstruction_loss + self.regularizer(kl_loss, y_pred)
        for loss_term in self.losses:
            loss = loss + ops.sum(loss_term)
        batch_size = ops.shape(distortion)[0]
        self.reconstruction_loss_tracker.update_state(reconstruction_loss, batch_size)
        self.kl_loss_tracker.update_state(kl_loss, batch_size)
        return loss

    def regularizer(self, kl_loss, y_pred):
        """Returns the loss's term beside the reconstruction: beta * kl_loss (0 at beta = 0).

        The one method the family's other objectives override (`bvae_tf.models.BetaTCVAE`,
        `DIPVAE`, `AnnealedVAE`, `FactorVAE`), as disentanglement_lib's `regularizer`.

        Args:
            kl_loss: float32 scalar tensor, the batch's mean KL(q(z | x) || N(0, I)).
            y_pred: dict of `call`'s outputs (`z_mean`, `z_log_var`, `logits`).
        """
        beta = ops.cast(self.beta_variable, kl_loss.dtype)
        return ops.where(beta > 0.0, beta * kl_loss, 0.0)

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        """`keras.Model.fit`, after checking the image shape and, if denoising, the noise.

        `x` and `validation_data` may also be `bvae_tf.data.pipeline.DeviceBatches`: the
        split then stays in device memory and each step draws its batch there.
        The traced train step's entry in TensorFlow's gradient registry is removed when
        `fit` returns, so a model trained in a loop is freed with the model (see
        `bvae_tf.models.gradient_registry`).

        Raises:
            ValueError: if the images have the wrong shape, or if a denoising model is
                given inputs equal to its targets (or no targets).
        """
        train_draw, x = _split_device_batches(x, "x")
        validation_draw, validation_data = _split_device_batches(validation_data,
                                                                 "validation_data")
        for draw, targets, name in ((train_draw, y, "x"),
                                    (validation_draw, None, "validation_data")):
            if draw is not None:
                checks.check_device_batches(draw, targets, self.image_shape, self.denoising,
                                            name)
        if train_draw is None:
            checks.check_fit_data(x, y, self.image_shape, self.denoising, self.likelihood)
        with gradient_registry.released_custom_gradients(), \
                self._drawing(train=train_draw, validation=validation_draw):
            return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate`; `x` may be `bvae_tf.data.pipeline.DeviceBatches`."""
        draw, x = _split_device_batches(x, "x")
        if draw is None:
            return super().evaluate(x, y, *args, **kwargs)
        checks.check_device_batches(draw, y, self.image_shape, self.denoising, "x")
        with self._drawing(validation=draw):
            return super().evaluate(x, y, *args, **kwargs)

    def train_step(self, data):
        return super().train_step(self._draw(data, "train"))

    def test_step(self, data):
        return super().test_step(self._draw(data, "validation"))

    def _draw(self, data, stage):
        """The batch of a `DeviceBatches` ticket when that stage draws on the device."""
        draw = getattr(self, "_device_batches", {}).get(stage)
        return data if draw is None else draw(data)

    @contextlib.contextmanager
    def _drawing(self, **stages):
        """Lets the steps draw from `stages` (None: plain batches), tracing them afresh."""
        if not any(stages.values()) and not getattr(self, "_device_batches", None):
            yield
            return
        # Not the model's state: set past Keras' and TensorFlow's tracking, so never saved.
        object.__setattr__(self, "_device_batches", stages)
        self.train_function = self.test_function = None  # traced with other batches
        try:
            yield
        finally:
            object.__setattr__(self, "_device_batches", {})
            self.train_function = self.test_function = None

    def encode(self, images, batch_size=1000):
        """Returns the posterior means of `images`, float32 numpy [N, latent_dim].

        Args:
            images: array [N, H, W, C] (or [N, H, W] when C is 1), values in [0, 1] (any
                finite values for likelihood "gaussian").
            batch_size: int, images per forward pass. Defaults to 1000.
        """
        return self.distribution_parameters(images, batch_size)[0]

    def distribution_parameters(self, images, batch_size=1000):
        """Returns `(z_mean, z_log_var)` of `images`, each float32 numpy [N, latent_dim]."""
        images = checks.as_images(images, self.image_shape, "BetaVAE.encode", self.likelihood)
        outputs = [self._encode_batch(batch) for batch in _batches(images, batch_size)]
        return tuple(
            np.concatenate([output[key].numpy() for output in outputs])
            for key in ("z_mean", "z_log_var")
        )

    def sample_codes(self, images, seed, batch_size=1000):
        """Returns codes z ~ q(z | images), float32 numpy [N, latent_dim].

        Args:
            images: array [N, H, W, C] (or [N, H, W]), values in [0, 1].
            seed: int, `np.random.RandomState` or None (see `check_random_state`).
            batch_size: int. Defaults to 1000.
        """
        return distributions.sample_codes(*self.distribution_parameters(images, batch_size),
                                          seed)

    def decode(self, z, batch_size=1000):
        """Returns E[x | z] of codes `z` [N, latent_dim], float32 numpy [N, H, W, C].

        The pixel probabilities sigmoid(logits) for likelihood "bernoulli", the Gaussian
        means for "gaussian".
        """
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"BetaVAE.decode: expected codes of shape (N, {self.latent_dim}), got "
                f"{z.shape}."
            )
        return np.concatenate(
            [self._decode_batch(batch).numpy() for batch in _batches(z, batch_size)]
        )

    def reconstruct(self, images, batch_size=1000):
        """Returns `decode(encode(images))`: the pixel means from the posterior means."""
        return self.decode(self.encode(images, batch_size), batch_size)

    @functools.cached_property
    def _encode_batch(self):
        spec = tf.TensorSpec([None, *self.image_shape], tf.float32)
        return tf.function(
            lambda images: self.encoder(images, training=False), input_signature=[spec]
        )

    @functools.cached_property
    def _decode_batch(self):
        spec = tf.TensorSpec([None, self.latent_dim], tf.float32)
        return tf.function(
            lambda z: distributions.pixel_means(self.likelihood,
                                                self.decoder(z, training=False)),
            input_signature=[spec],
        )

    def get_config(self):
        config = super().get_config()
        config.update(self._config)
        config["beta"] = self.beta
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _split_device_batches(data, name):
    """Returns `(draw, tickets)` for `DeviceBatches`, `(None, data)` for anything else."""
    if callable(data) and hasattr(data, "tickets"):
        return data, data.tickets()
    if isinstance(data, tuple) and any(callable(item) and hasattr(item, "tickets")
                                       for item in data):
        raise ValueError(f"Pass DeviceBatches alone as `{name}`, not inside a tuple: it holds "
                         "the targets itself.")
    return None, data


def _batches(array, batch_size):
    if len(array) == 0:
        raise ValueError("Expected at least one image or code; got an empty array.")
    return [array[start:start + batch_size] for start in range(0, len(array), batch_size)]


def _resolve_config(arguments):
    """Returns the checked constructor arguments, the decoder's grid and precision resolved."""
    ignored = ("self", "kwargs", "__class__")
    config = {key: value for key, value in arguments.items() if key not in ignored}
    if config["architecture"] not in ARCHITECTURES:
        raise ValueError(
            f"architecture must be one of {ARCHITECTURES}; got {config['architecture']!r}."
        )
    if config["architecture"] == "fc":
        given = [key for key in _CONV_ONLY if config[key] is not None]
        if given:
            raise ValueError(f"{given} apply to architecture='conv' only; leave them None.")
    missing = [key for key in _SIZES + (_CONV_ONLY if config["architecture"] == "conv" else ())
               if config[key] is None]
    if missing:
        raise ValueError(f"BetaVAE needs {missing} for architecture={config['architecture']!r}. "
                         "The paper's sizes are the zoo's: bvae_tf.zoo.build(name) builds an "
                         "entry, bvae_tf.zoo.entry(name).model_config() gives its arguments.")
    config["image_shape"] = checks.check_image_shape(config["image_shape"])
    for key in ("encoder_units", "decoder_units", "encoder_filters", "decoder_filters"):
        if config[key] is not None:
            config[key] = tuple(int(size) for size in config[key])
    if config["architecture"] == "conv":
        config["decoder_reshape"] = checks.resolve_decoder_reshape(config)
    if config["precision"] is None:
        config["precision"] = global_precision()
    if config["precision"] not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {PRECISIONS}; got {config['precision']!r}. (None "
            f"follows Keras' global policy; \"auto\" is resolved by bvae_tf.speed.resolve "
            f"before the model is built.)"
        )
    if config["likelihood"] not in distributions.LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {distributions.LIKELIHOODS}; got "
                         f"{config['likelihood']!r}.")
    config["beta"] = checks.check_beta(config["beta"])
    if config["validation_statistics"] not in VALIDATION_STATISTICS:
        raise ValueError(f"validation_statistics must be one of {VALIDATION_STATISTICS}; got "
                         f"{config['validation_statistics']!r}.")
    config["denoising"] = bool(config["denoising"])
    return config


def global_precision():
    """Returns Keras' global dtype policy as a `precision`, if a model can compute in it.

    Raises:
        ValueError: for a global policy other than "float32" and "mixed_bfloat16".

    Example:
    >>> global_precision()
    'float32'
    """
    name = keras.config.dtype_policy().name
    if name not in PRECISIONS:
        raise ValueError(
            f"Keras' global dtype policy is {name!r}, which bvae_tf models cannot follow: "
            f"they compute in one of {PRECISIONS}. Set one of those "
            f"(keras.mixed_precision.set_global_policy('mixed_bfloat16')), or pass "
            f"precision='float32' or 'mixed_bfloat16' explicitly."
        )
    return name
