"""The paper's layer recipe: bias-free hidden layers, batch norm, activations, initialisers."""

import functools

import keras
import numpy as np
import pytest
import tensorflow as tf

from bvae_tf import zoo
from bvae_tf.models import BetaVAE, architectures
from bvae_tf.models.beta_vae import PRECISIONS

HIDDEN = (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Conv2DTranspose)
OUTPUTS = ("z_mean", "z_log_var", "output", "logits")


PER_PRECISION = pytest.mark.parametrize("precision", PRECISIONS)


@functools.cache
def _shapes_model(architecture, precision):
    """The shapes model of `architecture` (`zoo`'s sizes and seed), built once per session."""
    return BetaVAE(**zoo.entry(architecture).model_config(), seed=0, precision=precision)


@PER_PRECISION
@pytest.mark.parametrize("architecture", ["fc", "conv"])
def test_every_hidden_layer_is_bias_free_then_batch_norm_then_activation(architecture,
                                                                         precision):
    model = _shapes_model(architecture, precision)
    for network, activation in ((model.encoder, "relu"), (model.decoder, "tanh")):
        layers = network.layers
        hidden = [i for i, layer in enumerate(layers)
                  if isinstance(layer, HIDDEN) and layer.name not in OUTPUTS]
        assert len(hidden) == {"fc": {"encoder": 2, "decoder": 3},
                               "conv": {"encoder": 3, "decoder": 4}}[
            model.architecture][network.name]
        for i in hidden:
            assert not layers[i].use_bias, layers[i].name
            batch_norm, act = layers[i + 1], layers[i + 2]
            assert isinstance(batch_norm, keras.layers.BatchNormalization)
            assert (batch_norm.epsilon, batch_norm.momentum) == (1e-4, 0.99)
            assert act.get_config()["activation"] == activation
            assert {layers[i + k].dtype_policy.name for k in range(3)} == {model.precision}
    for name in ("z_mean", "z_log_var"):
        assert model.encoder.get_layer(name).use_bias
    assert model.decoder.get_layer("logits" if model.architecture == "conv" else "output").use_bias


@PER_PRECISION
def test_encoder_is_he_normal_untruncated(precision):
    fc_model = _shapes_model("fc", precision)
    kernel = np.array(fc_model.encoder.get_layer("encoder_dense_1").kernel)  # 4096 x 1200
    std = np.sqrt(2.0 / 4096)
    assert kernel.std() == pytest.approx(std, rel=0.01)
    # An untruncated normal has 4.55% of its mass beyond 2 std; Keras' HeNormal has none.
    assert np.mean(np.abs(kernel) > 2 * std) == pytest.approx(0.0455, abs=0.002)
    head = np.array(fc_model.encoder.get_layer("z_mean").kernel)
    assert head.std() == pytest.approx(np.sqrt(2.0 / 1200), rel=0.05)
    assert not np.any(np.array(fc_model.encoder.get_layer("z_mean").bias))


@pytest.mark.parametrize("architecture, layer, fan_in, fan_out", [
    ("fc", "decoder_dense_2", 1200, 1200),
    ("fc", "output", 1200, 4096),
    ("conv", "decoder_conv_transpose_1", 9 * 16, 9 * 64),
])
def test_decoder_is_glorot_uniform(architecture, layer, fan_in, fan_out):
    kernel = np.array(_shapes_model(architecture, "float32").decoder.get_layer(layer).kernel)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    assert np.abs(kernel).max() <= limit * (1 + 1e-6)  # float32 rounding
    assert np.abs(kernel).max() > 0.99 * limit
    assert kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.05)


@PER_PRECISION
def test_conv_shapes_follow_the_paper(precision):
    conv_model = _shapes_model("conv", precision)
    shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in
              conv_model.encoder.layers + conv_model.decoder.layers
              if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))}
    assert shapes == {
        "encoder_conv_1": (32, 32, 16), "encoder_conv_2": (16, 16, 32),
        "decoder_conv_transpose_1": (16, 16, 16), "decoder_conv_transpose_2": (32, 32, 4),
        "logits": (64, 64, 1),
    }
    assert conv_model.encoder.get_layer("encoder_flatten").output.shape[1:] == (8192,)


def _batch_norm_step(layer, inputs, upstream):
    """Output, gradients (inputs, gamma, beta), moving statistics and inference output."""
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = layer(inputs, training=True)
        loss = tf.reduce_sum(tf.cast(outputs, tf.float32) * upstream)
    gradients = tape.gradient(loss, [inputs, layer.gamma, layer.beta])
    results = [outputs, *gradients, layer.moving_mean, layer.moving_variance,
               layer(inputs, training=False)]
    return [np.array(tf.cast(result, tf.float32)) for result in results]


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("shape", [(64, 12), (16, 5, 5, 3)])
def test_fused_batch_norm_has_the_math_of_keras_batch_norm(shape, precision):
    rng = np.random.default_rng(0)
    inputs = tf.constant(rng.normal(2.0, 3.0, shape).astype(np.float32))
    upstream = tf.constant(rng.normal(size=shape).astype(np.float32))
    results = []
    for layer_class in (keras.layers.BatchNormalization, architectures.BatchNormalization):
        layer = layer_class(momentum=0.9, epsilon=1e-4, dtype=precision)
        layer.build(shape)
        layer.gamma.assign(np.linspace(0.5, 2.0, shape[-1]))
        layer.beta.assign(np.linspace(-1.0, 1.0, shape[-1]))
        results.append(_batch_norm_step(layer, inputs, upstream))
    narrow = 1e-5 if precision == "float32" else 1e-2  # bfloat16 tensors: 8-bit mantissa
    names = ["outputs", "d inputs", "d gamma", "d beta", "moving mean", "moving variance",
             "inference outputs"]
    for name, keras_result, fused_result in zip(names, *results):
        assert np.abs(keras_result).max() > 0.05, name  # nothing trivially zero
        tolerance = 1e-5 if name.startswith("moving") else narrow  # float32 variables
        np.testing.assert_allclose(fused_result, keras_result, rtol=tolerance,
                                   atol=tolerance, err_msg=name)


def test_fused_batch_norm_weights_are_keras_batch_norm_weights(tmp_path):
    """Same class name and variables: weights files of either load into the other."""
    def network(layer_class):
        inputs = keras.Input((4,))
        return keras.Model(inputs, layer_class(name="batch_norm")(keras.layers.Dense(3)(inputs)))

    stock, fused = network(keras.layers.BatchNormalization), network(
        architectures.BatchNormalization)
    for variable in stock.weights:
        variable.assign(np.random.default_rng(1).random(variable.shape) + 0.5)
    stock.save_weights(tmp_path / "stock.weights.h5")
    fused.load_weights(tmp_path / "stock.weights.h5")
    for expected, actual in zip(stock.weights, fused.weights):
        np.testing.assert_array_equal(np.array(actual), np.array(expected))
