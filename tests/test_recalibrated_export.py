"""Exported encoders recalibrated in memory: known answers against the Keras encoder."""

import os

import helpers
import numpy as np
import pytest
import tensorflow as tf

from bvae_tf import export, recalibrated_export
from bvae_tf.data import ground_truth
from bvae_tf.models import BetaVAE
from bvae_tf.models.recalibration import batch_norm_layers, recalibrate_batch_norm


def _fc_model():
    return BetaVAE(architecture="fc", image_shape=(16, 16, 1), latent_dim=3,
                   encoder_units=(32, 16), decoder_units=(16,), seed=0)


def _images(count=300, seed=0):
    # Uneven pixel rates: the layers' inputs have means far from 0 and variances far from 1.
    rates = np.linspace(0.05, 0.95, 256).reshape(16, 16, 1)
    return (np.random.default_rng(seed).random((count, 16, 16, 1)) < rates).astype("float32")


@pytest.mark.parametrize("make_model", [_fc_model, lambda: helpers.tiny_model("conv")],
                         ids=["fc", "conv"])
def test_a_recalibrated_export_computes_the_recalibrated_keras_encoder(make_model, tmp_path):
    model, images = make_model(), _images()  # untrained: moving averages at 0 and 1
    encoder = export.load_encoder(export.export_encoder(model, tmp_path, "m"), batch_size=64)
    stale = encoder(images)
    recalibrated = recalibrated_export.recalibrate_exported(encoder, images)  # 5 batches
    recalibrate_batch_norm(model.encoder, images, batch_size=64)
    in_memory = model.encoder(images, training=False)
    for key, codes in zip(export.OUTPUTS, recalibrated.distribution_parameters(images)):
        np.testing.assert_allclose(codes, in_memory[key], atol=1e-4)
    full_batch = model.encoder(images, training=True)  # the batch's own statistics
    np.testing.assert_allclose(recalibrated(images), full_batch["z_mean"], atol=1e-4)
    np.testing.assert_array_equal(encoder(images), stale)  # the copy's, not the original's
    assert np.abs(stale - recalibrated(images)).max() > 0.1


def test_a_dataset_of_batches_recalibrates_as_the_array_does(tmp_path):
    model, images = _fc_model(), _images()
    encoder = export.load_encoder(export.export_encoder(model, tmp_path, "m"))
    from_array = recalibrated_export.recalibrate_exported(encoder, images)
    batches = tf.data.Dataset.from_tensor_slices((images, images)).batch(70)
    from_dataset = recalibrated_export.recalibrate_exported(encoder, batches)
    np.testing.assert_allclose(from_dataset(images), from_array(images), atol=1e-5)


def test_the_export_holds_the_statistics_serving_default_uses_once(tmp_path):
    model = BetaVAE(architecture="fc", image_shape=(28, 28, 1), latent_dim=4,
                    encoder_units=(256,), decoder_units=(8,), seed=0)
    path = export.export_encoder(model, tmp_path, "m")
    loaded = tf.saved_model.load(os.fspath(path))
    assert sorted(loaded.signatures) == ["batch_norm_inputs", "serving_default"]
    weights = model.encoder.weights
    saved = [name for name, _ in tf.train.list_variables(os.fspath(path / "variables/variables"))
             if name != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    assert len(saved) == len(weights) + 1  # each weight written once, and the likelihood
    data_bytes = sum(file.stat().st_size for file in (path / "variables").glob("*.data-*"))
    assert data_bytes < 1.05 * sum(np.asarray(weight).nbytes for weight in weights)
    # Assigning the collected statistics changes what serving_default computes, as in Keras.
    images = _images()[:, :14, :14].repeat(2, axis=1).repeat(2, axis=2)
    mean, variance = loaded.batch_norm_statistics[:2]
    mean.assign(np.full(mean.shape, 3.0, "float32"))
    variance.assign(np.full(variance.shape, 4.0, "float32"))
    layer = batch_norm_layers(model.encoder)[0]
    layer.moving_mean.assign(np.full(mean.shape, 3.0, "float32"))
    layer.moving_variance.assign(np.full(variance.shape, 4.0, "float32"))
    served = loaded.signatures["serving_default"](images=tf.constant(images))["z_mean"]
    np.testing.assert_allclose(served, model.encoder(images, training=False)["z_mean"],
                               atol=1e-5)


def test_an_export_without_batch_norm_inputs_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "_add_batch_norm_access", lambda *args: None)  # as before
    encoder = export.load_encoder(export.export_encoder(_fc_model(), tmp_path, "old"))
    with pytest.raises(ValueError, match="no 'batch_norm_inputs' signature.*export it again "
                       r"from its .keras model: bvae_tf.export.export_encoder\("):
        recalibrated_export.recalibrate_exported(encoder, _images())


def test_an_export_whose_statistics_are_missing_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "BATCH_NORM_STATISTICS", "other_name")
    encoder = export.load_encoder(export.export_encoder(_fc_model(), tmp_path, "odd"))
    monkeypatch.undo()
    with pytest.raises(ValueError, match=r"returns \['batch_norm_0', 'batch_norm_1'\] .* has 0 "
                       "'batch_norm_statistics' variables.*export it again"):
        recalibrated_export.recalibrate_exported(encoder, _images())


def test_images_are_checked_before_the_export_is_loaded(tmp_path):
    encoder = export.load_encoder(export.export_encoder(_fc_model(), tmp_path, "m"))
    with pytest.raises(ValueError, match="images"):
        recalibrated_export.recalibrate_exported(encoder, _images() * 255)


def test_training_images_of_other_data_are_drawn_with_the_seed():
    images = np.random.default_rng(0).random((12, 4, 4, 1)).astype("float32")
    grid = ground_truth.ArrayGrid(images, [3, 4], ["a", "b"])
    dataset, count = recalibrated_export.training_images(grid, seed=5, samples=7,
                                                         batch_size=3)
    drawn = np.concatenate(list(dataset.as_numpy_iterator()))
    random_state = np.random.RandomState(5)
    expected = grid.sample_observations_from_factors(grid.sample_factors(7, random_state),
                                                     random_state)
    assert count == 7 and drawn.shape == (7, 4, 4, 1)
    np.testing.assert_array_equal(drawn, expected)
    np.testing.assert_array_equal(np.concatenate(list(dataset.as_numpy_iterator())), drawn)
    _, default_count = recalibrated_export.training_images(grid, seed=5)
    assert default_count == recalibrated_export.DEFAULT_SAMPLES
