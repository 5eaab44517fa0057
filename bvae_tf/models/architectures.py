"""Encoder and decoder networks of the paper, built as small functional Keras models.

Every hidden layer is a bias-free dense or convolutional layer followed by batch norm and
its activation (the authors' `util.batch_norm` has its own shift, so a bias would be
redundant). Initialisation as in the authors' `util.py`: He-normal (untruncated normal,
stddev sqrt(2 / fan_in)) in the ReLU encoder and both code heads, Glorot-uniform in the
tanh decoder and its output layer, zero biases.

Precision: every layer is built with the dtype policy `config["precision"]` ("float32" or
"mixed_bfloat16": float32 variables, bfloat16 computation), so the policy is the model's own
and Keras' global policy is never touched. Batch norm computes its statistics in float32
under either policy (Keras upcasts), and the encoder's two code heads are float32 layers:
the encoder's outputs `z_mean` and `z_log_var` are float32 in both precisions.

References:
    Peychev, Velickovic and Lio, "Quantifying the Effects of Enforcing Disentanglement on
    Variational Autoencoders", 2017, Section 3 (architectures); the authors' code
    (github.com/mpeychev/disentangled-autoencoders, `fc_autoencoder.py`,
    `conv_autoencoder.py`, `util.py`).
"""

import math

import keras
import numpy as np
import tensorflow as tf

KERNEL_SIZE = 3


@keras.saving.register_keras_serializable(package="bvae_tf")
class BatchNormalization(keras.layers.BatchNormalization):
    """Keras' batch norm over the last axis, computed by TensorFlow's fused kernel.

    The math of `keras.layers.BatchNormalization` (axis -1, no mask, renorm or sync): in
    training, normalise with the batch's mean and biased variance over all other axes and
    move the statistics by `momentum`; in inference, normalise with the moving ones. All
    in float32, as Keras does (narrower inputs are cast up, the output back to the
    layer's compute dtype). One `FusedBatchNormV3` op, and one for its gradient, replace
    Keras' composite of about 25: 2 to 4 times faster on wide maps (BENCHMARKS.md,
    "Training throughput"). Same class name, variables and order as Keras' layer, so
    `.keras` files of either load into the other.

    Example:
    >>> layer = BatchNormalization(epsilon=1e-4)
    >>> x = np.arange(6, dtype="float32").reshape(3, 2)
    >>> np.array(layer(x, training=True), "float64").round(3).tolist()
    [[-1.225, -1.225], [0.0, 0.0], [1.225, 1.225]]
    """

    def call(self, inputs, training=None):
        shape = tf.shape(inputs)
        x = tf.cast(inputs, tf.float32)
        if inputs.shape.rank == 2:  # the kernel wants [N, H, W, C]
            x = tf.reshape(x, [-1, 1, 1, inputs.shape[-1]])
        gamma, beta = tf.convert_to_tensor(self.gamma), tf.convert_to_tensor(self.beta)
        if training and self.trainable:
            y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, epsilon=self.epsilon, is_training=True
            )
            count = tf.cast(tf.size(x) // tf.shape(x)[-1], tf.float32)
            variance = variance * (count - 1.0) / count  # the kernel returns the unbiased one
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1 - self.momentum))
            self.moving_variance.assign(
                self.moving_variance * self.momentum + variance * (1 - self.momentum)
            )
        else:
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, mean=tf.convert_to_tensor(self.moving_mean),
                variance=tf.convert_to_tensor(self.moving_variance), epsilon=self.epsilon,
                is_training=False,
            )
        return tf.cast(tf.reshape(y, shape), self.compute_dtype)


def initializer_seeds(seed):
    """Yields one initializer seed per layer: None forever, or distinct ints from `seed`."""
    index = 0
    while True:
        if seed is None:
            yield None
        else:
            yield int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
        index += 1


def _he_normal(seeds):
    # Keras' HeNormal truncates the normal; the authors' `he_init` does not.
    return keras.initializers.VarianceScaling(
        scale=2.0, mode="fan_in", distribution="untruncated_normal", seed=next(seeds)
    )


def _glorot_uniform(seeds):
    return keras.initializers.GlorotUniform(seed=next(seeds))


def _normalize_activate(x, name, activation, batch_norm, dtype):
    x = BatchNormalization(**batch_norm, name=f"{name}_batch_norm", dtype=dtype)(x)
    return keras.layers.Activation(activation, name=f"{name}_{activation}", dtype=dtype)(x)


def _hidden_dense(x, units, name, activation, initializer, batch_norm, dtype):
    x = keras.layers.Dense(
        units, use_bias=False, kernel_initializer=initializer, name=name, dtype=dtype
    )(x)
    return _normalize_activate(x, name, activation, batch_norm, dtype)


def build_encoder(config, seeds):
    """Returns the encoder: images [B, H, W, C] -> {"z_mean", "z_log_var"} [B, latent].

    Args:
        config: dict of `BetaVAE` arguments (resolved: no None sizes).
        seeds: iterator of initializer seeds (see `initializer_seeds`).

    Returns:
        A built functional `keras.Model` named "encoder".
    """
    batch_norm, dtype = _batch_norm_arguments(config), config["precision"]
    activation = config["encoder_activation"]
    images = keras.Input(shape=config["image_shape"], name="images")
    x = images
    if config["architecture"] == "conv":
        for index, filters in enumerate(config["encoder_filters"], start=1):
            name = f"encoder_conv_{index}"
            x = keras.layers.Conv2D(
                filters, KERNEL_SIZE, strides=2, padding="same", use_bias=False,
                kernel_initializer=_he_normal(seeds), name=name, dtype=dtype,
            )(x)
            x = _normalize_activate(x, name, activation, batch_norm, dtype)
    x = keras.layers.Flatten(name="encoder_flatten", dtype=dtype)(x)
    for index, units in enumerate(config["encoder_units"], start=1):
        x = _hidden_dense(
            x, units, f"encoder_dense_{index}", activation, _he_normal(seeds), batch_norm, dtype
        )
    outputs = {  # float32 heads: the codes (and the exported signature) are float32
        name: keras.layers.Dense(
            config["latent_dim"], kernel_initializer=_he_normal(seeds), name=name,
            dtype="float32",
        )(x)
        for name in ("z_mean", "z_log_var")
    }
    return keras.Model(images, outputs, name="encoder")


def build_decoder(config, seeds):
    """Returns the decoder: codes [B, latent] -> logits [B, H, W, C].

    The logits are in the policy's compute dtype (bfloat16 under "mixed_bfloat16");
    `BetaVAE` casts them to float32 before the loss.

    Args:
        config: dict of `BetaVAE` arguments (resolved: no None sizes).
        seeds: iterator of initializer seeds (see `initializer_seeds`).

    Returns:
        A built functional `keras.Model` named "decoder".
    """
    batch_norm, dtype = _batch_norm_arguments(config), config["precision"]
    activation = config["decoder_activation"]
    image_shape = tuple(config["image_shape"])
    codes = keras.Input(shape=(config["latent_dim"],), name="codes")
    x = codes
    for index, units in enumerate(config["decoder_units"], start=1):
        x = _hidden_dense(
            x, units, f"decoder_dense_{index}", activation, _glorot_uniform(seeds), batch_norm,
            dtype,
        )
    if config["architecture"] == "fc":
        x = keras.layers.Dense(
            math.prod(image_shape), kernel_initializer=_glorot_uniform(seeds), name="output",
            dtype=dtype,
        )(x)
        logits = keras.layers.Reshape(image_shape, name="logits", dtype=dtype)(x)
        return keras.Model(codes, logits, name="decoder")
    reshape = tuple(config["decoder_reshape"])
    x = _hidden_dense(
        x, math.prod(reshape), f"decoder_dense_{len(config['decoder_units']) + 1}",
        activation, _glorot_uniform(seeds), batch_norm, dtype,
    )
    x = keras.layers.Reshape(reshape, name="decoder_reshape", dtype=dtype)(x)
    for index, filters in enumerate(config["decoder_filters"], start=1):
        name = f"decoder_conv_transpose_{index}"
        x = keras.layers.Conv2DTranspose(
            filters, KERNEL_SIZE, strides=2, padding="same", use_bias=False,
            kernel_initializer=_glorot_uniform(seeds), name=name, dtype=dtype,
        )(x)
        x = _normalize_activate(x, name, activation, batch_norm, dtype)
    logits = keras.layers.Conv2DTranspose(
        image_shape[-1], KERNEL_SIZE, strides=config["output_strides"], padding="same",
        kernel_initializer=_glorot_uniform(seeds), name="logits", dtype=dtype,
    )(x)
    return keras.Model(codes, logits, name="decoder")


def _batch_norm_arguments(config):
    return {"momentum": config["batch_norm_momentum"], "epsilon": config["batch_norm_epsilon"]}
