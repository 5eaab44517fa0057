"""The paper's layer recipe: bias-free hidden layers, batch norm, activations, initialisers."""

import keras
import numpy as np
import pytest

from bvae_tf import zoo

HIDDEN = (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Conv2DTranspose)
OUTPUTS = ("z_mean", "z_log_var", "output", "logits")


@pytest.fixture(scope="module")
def conv_model():
    return zoo.conv(seed=0)


@pytest.fixture(scope="module")
def fc_model():
    return zoo.fc(seed=0)


@pytest.mark.parametrize("model_name", ["fc_model", "conv_model"])
def test_every_hidden_layer_is_bias_free_then_batch_norm_then_activation(model_name, request):
    model = request.getfixturevalue(model_name)
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
    for name in ("z_mean", "z_log_var"):
        assert model.encoder.get_layer(name).use_bias
    assert model.decoder.get_layer("logits" if model.architecture == "conv" else "output").use_bias


def test_encoder_is_he_normal_untruncated(fc_model):
    kernel = np.array(fc_model.encoder.get_layer("encoder_dense_1").kernel)  # 4096 x 1200
    std = np.sqrt(2.0 / 4096)
    assert kernel.std() == pytest.approx(std, rel=0.01)
    # An untruncated normal has 4.55% of its mass beyond 2 std; Keras' HeNormal has none.
    assert np.mean(np.abs(kernel) > 2 * std) == pytest.approx(0.0455, abs=0.002)
    head = np.array(fc_model.encoder.get_layer("z_mean").kernel)
    assert head.std() == pytest.approx(np.sqrt(2.0 / 1200), rel=0.05)
    assert not np.any(np.array(fc_model.encoder.get_layer("z_mean").bias))


@pytest.mark.parametrize("model_name, layer, fan_in, fan_out", [
    ("fc_model", "decoder_dense_2", 1200, 1200),
    ("fc_model", "output", 1200, 4096),
    ("conv_model", "decoder_conv_transpose_1", 9 * 16, 9 * 64),
])
def test_decoder_is_glorot_uniform(model_name, layer, fan_in, fan_out, request):
    kernel = np.array(request.getfixturevalue(model_name).decoder.get_layer(layer).kernel)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    assert np.abs(kernel).max() <= limit * (1 + 1e-6)  # float32 rounding
    assert np.abs(kernel).max() > 0.99 * limit
    assert kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.05)


def test_conv_shapes_follow_the_paper(conv_model):
    shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in
              conv_model.encoder.layers + conv_model.decoder.layers
              if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))}
    assert shapes == {
        "encoder_conv_1": (32, 32, 16), "encoder_conv_2": (16, 16, 32),
        "decoder_conv_transpose_1": (16, 16, 16), "decoder_conv_transpose_2": (32, 32, 4),
        "logits": (64, 64, 1),
    }
    assert conv_model.encoder.get_layer("encoder_flatten").output.shape[1:] == (8192,)
