"""Batch-norm recalibration: known answers on small encoders."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bvae_tf.models import BetaVAE
from bvae_tf.models.recalibration import batch_norm_layers, recalibrate_batch_norm


def _model(momentum, seed=0):
    model = BetaVAE(architecture="fc", image_shape=(8, 8, 1), latent_dim=3,
                    encoder_units=(32, 16), decoder_units=(16,), seed=seed,
                    batch_norm_momentum=momentum)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    return model


def _images(count=300, seed=0):
    # Uneven pixel rates: the layers' inputs have means far from 0 and variances far from 1.
    rates = np.linspace(0.05, 0.95, 64).reshape(8, 8, 1)
    return (np.random.default_rng(seed).random((count, 8, 8, 1)) < rates).astype("float32")


def _reset_to_initial(network):
    for layer in batch_norm_layers(network):
        layer.moving_mean.assign(np.zeros(layer.moving_mean.shape, "float32"))
        layer.moving_variance.assign(np.ones(layer.moving_variance.shape, "float32"))


def test_recalibrated_statistics_are_the_training_inputs_and_give_full_batch_codes():
    model, images = _model(0.999), _images()
    model.fit(images, epochs=3, batch_size=50, verbose=0)
    encoder = model.encoder
    _reset_to_initial(encoder)
    names = recalibrate_batch_norm(encoder, images, batch_size=64)  # 5 uneven batches
    first = batch_norm_layers(encoder)[0]
    assert names[0] == first.name and len(names) == 2
    # Layer 1's inputs are the first dense layer's outputs: their exact moments.
    dense = encoder.get_layer(first.name.removesuffix("_batch_norm"))
    inputs = images.reshape(len(images), -1).astype("float64") @ np.asarray(
        dense.kernel, "float64")
    np.testing.assert_allclose(first.moving_mean, inputs.mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(first.moving_variance, inputs.var(axis=0), rtol=1e-5)
    recalibrated = encoder(images, training=False)
    full_batch = encoder(images, training=True)  # the batch's own statistics, all images
    for key in ("z_mean", "z_log_var"):
        np.testing.assert_allclose(recalibrated[key], full_batch[key], atol=1e-4)


def test_a_converged_model_with_keras_momentum_changes_little():
    model, images = _model(0.99), _images()
    model.fit(images, epochs=30, batch_size=50, verbose=0)
    # Converged: the weights stop moving, and 360 updates at momentum 0.99 leave 3% of the
    # averages' earlier values. Only batch statistics' small-sample bias separates them.
    model.optimizer.learning_rate.assign(0.0)
    model.fit(images, epochs=60, batch_size=50, verbose=0)
    before = np.asarray(model.encoder(images, training=False)["z_mean"])
    recalibrate_batch_norm(model.encoder, images)
    after = np.asarray(model.encoder(images, training=False)["z_mean"])
    assert np.abs(after - before).max() < 0.1 * before.std(), (np.abs(after - before).max(),
                                                                before.std())


def test_stale_statistics_change_the_codes_and_recalibration_restores_them():
    model, images = _model(0.999), _images()
    model.fit(images, epochs=3, batch_size=50, verbose=0)  # 18 updates: the averages are stale
    stale = np.asarray(model.encoder(images, training=False)["z_mean"])
    recalibrate_batch_norm(model.encoder, tf.data.Dataset.from_tensor_slices(
        (images, images)).batch(100))
    recalibrated = np.asarray(model.encoder(images, training=False)["z_mean"])
    assert np.abs(stale - recalibrated).max() > 0.5 * recalibrated.std()


def test_a_network_without_batch_norm_or_data_is_refused():
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="has no batch-norm layer"):
        recalibrate_batch_norm(plain, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="`data` is empty"):
        recalibrate_batch_norm(_model(0.99).encoder, np.zeros((0, 8, 8, 1)))
