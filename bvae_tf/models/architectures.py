"""Encoder and decoder networks of the paper, built as small functional Keras models.

Every hidden layer is a bias-free dense or convolutional layer followed by batch norm and
its activation (the authors' `util.batch_norm` has its own shift, so a bias would be
redundant). Initialisation as in the authors' `util.py`: He-normal (untruncated normal,
stddev sqrt(2 / fan_in)) in the ReLU encoder and both code heads, Glorot-uniform in the
tanh decoder and its output layer, zero biases.

References:
    Peychev, Velickovic and Lio, "Quantifying the Effects of Enforcing Disentanglement on
    Variational Autoencoders", 2017, Section 3 (architectures); the authors' code
    (github.com/mpeychev/disentangled-autoencoders, `fc_autoencoder.py`,
    `conv_autoencoder.py`, `util.py`).
"""

import math

import keras
import numpy as np

KERNEL_SIZE = 3


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


def _normalize_activate(x, name, activation, batch_norm):
    x = keras.layers.BatchNormalization(**batch_norm, name=f"{name}_batch_norm")(x)
    return keras.layers.Activation(activation, name=f"{name}_{activation}")(x)


def _hidden_dense(x, units, name, activation, initializer, batch_norm):
    x = keras.layers.Dense(units, use_bias=False, kernel_initializer=initializer, name=name)(x)
    return _normalize_activate(x, name, activation, batch_norm)


def build_encoder(config, seeds):
    """Returns the encoder: images [B, H, W, C] -> {"z_mean", "z_log_var"} [B, latent].

    Args:
        config: dict of `BetaVAE` arguments (resolved: no None sizes).
        seeds: iterator of initializer seeds (see `initializer_seeds`).

    Returns:
        A built functional `keras.Model` named "encoder".
    """
    batch_norm = _batch_norm_arguments(config)
    activation = config["encoder_activation"]
    images = keras.Input(shape=config["image_shape"], name="images")
    x = images
    if config["architecture"] == "conv":
        for index, filters in enumerate(config["encoder_filters"], start=1):
            name = f"encoder_conv_{index}"
            x = keras.layers.Conv2D(
                filters, KERNEL_SIZE, strides=2, padding="same", use_bias=False,
                kernel_initializer=_he_normal(seeds), name=name,
            )(x)
            x = _normalize_activate(x, name, activation, batch_norm)
    x = keras.layers.Flatten(name="encoder_flatten")(x)
    for index, units in enumerate(config["encoder_units"], start=1):
        x = _hidden_dense(
            x, units, f"encoder_dense_{index}", activation, _he_normal(seeds), batch_norm
        )
    outputs = {
        name: keras.layers.Dense(
            config["latent_dim"], kernel_initializer=_he_normal(seeds), name=name
        )(x)
        for name in ("z_mean", "z_log_var")
    }
    return keras.Model(images, outputs, name="encoder")


def build_decoder(config, seeds):
    """Returns the decoder: codes [B, latent] -> logits [B, H, W, C].

    Args:
        config: dict of `BetaVAE` arguments (resolved: no None sizes).
        seeds: iterator of initializer seeds (see `initializer_seeds`).

    Returns:
        A built functional `keras.Model` named "decoder".
    """
    batch_norm = _batch_norm_arguments(config)
    activation = config["decoder_activation"]
    image_shape = tuple(config["image_shape"])
    codes = keras.Input(shape=(config["latent_dim"],), name="codes")
    x = codes
    for index, units in enumerate(config["decoder_units"], start=1):
        x = _hidden_dense(
            x, units, f"decoder_dense_{index}", activation, _glorot_uniform(seeds), batch_norm
        )
    if config["architecture"] == "fc":
        x = keras.layers.Dense(
            math.prod(image_shape), kernel_initializer=_glorot_uniform(seeds), name="output"
        )(x)
        logits = keras.layers.Reshape(image_shape, name="logits")(x)
        return keras.Model(codes, logits, name="decoder")
    reshape = tuple(config["decoder_reshape"])
    x = _hidden_dense(
        x, math.prod(reshape), f"decoder_dense_{len(config['decoder_units']) + 1}",
        activation, _glorot_uniform(seeds), batch_norm,
    )
    x = keras.layers.Reshape(reshape, name="decoder_reshape")(x)
    for index, filters in enumerate(config["decoder_filters"], start=1):
        name = f"decoder_conv_transpose_{index}"
        x = keras.layers.Conv2DTranspose(
            filters, KERNEL_SIZE, strides=2, padding="same", use_bias=False,
            kernel_initializer=_glorot_uniform(seeds), name=name,
        )(x)
        x = _normalize_activate(x, name, activation, batch_norm)
    logits = keras.layers.Conv2DTranspose(
        image_shape[-1], KERNEL_SIZE, strides=config["output_strides"], padding="same",
        kernel_initializer=_glorot_uniform(seeds), name="logits",
    )(x)
    return keras.Model(codes, logits, name="decoder")


def _batch_norm_arguments(config):
    return {"momentum": config["batch_norm_momentum"], "epsilon": config["batch_norm_epsilon"]}
