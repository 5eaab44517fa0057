"""BetaVAE on small sizes: outputs, loss, beta, metrics, errors and round trips."""

import helpers
import keras
import numpy as np
import pytest
import tensorflow as tf

from bvae_tf.models import BetaVAE


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _expected_losses(outputs, targets):
    """The loss terms in numpy, from the definitions (not from TFP)."""
    logits = np.array(outputs["logits"], np.float64)
    z_mean = np.array(outputs["z_mean"], np.float64)
    z_log_var = np.array(outputs["z_log_var"], np.float64)
    log_likelihood = targets * _log_sigmoid(logits) + (1 - targets) * _log_sigmoid(-logits)
    reconstruction = -log_likelihood.reshape(len(targets), -1).sum(axis=1).mean()
    kl = 0.5 * (z_mean**2 + np.exp(z_log_var) - z_log_var - 1).sum(axis=1).mean()
    return reconstruction, kl


def test_outputs_are_named_tensors_of_the_right_shapes():
    model = helpers.tiny_model("conv")
    outputs = model(helpers.binary_images(5, (16, 16, 1)))
    assert {key: tuple(value.shape) for key, value in outputs.items()} == {
        "z_mean": (5, 3), "z_log_var": (5, 3), "logits": (5, 16, 16, 1)
    }


def test_model_is_built_and_stores_its_arguments():
    model = helpers.tiny_model("conv", beta=2.5, denoising=True, compile=False)
    assert model.built
    assert (model.latent_dim, model.image_shape, model.denoising) == (3, (16, 16, 1), True)
    assert model.decoder_reshape == (4, 4, 3) and model.beta == 2.5


@pytest.mark.parametrize("beta", [0.0, 1.0, 4.0])
def test_compute_loss_matches_the_definition(beta):
    model = helpers.tiny_model("fc", beta=beta)
    images = helpers.binary_images(6, (16, 16, 1), seed=1)
    grey = np.random.default_rng(2).random(images.shape).astype(np.float32)  # MNIST-like
    outputs = model(images, training=False)
    loss = float(model.compute_loss(images, grey, outputs))
    reconstruction, kl = _expected_losses(outputs, grey)
    assert kl > 0.01  # the KL term is there to be dropped at beta 0
    np.testing.assert_allclose(loss, reconstruction + beta * kl, rtol=1e-5)
    np.testing.assert_allclose(float(model.reconstruction_loss_tracker.result()),
                               reconstruction, rtol=1e-5)
    np.testing.assert_allclose(float(model.kl_loss_tracker.result()), kl, rtol=1e-5)


def test_targets_default_to_inputs():
    model = helpers.tiny_model("fc")
    images = helpers.binary_images(4, (16, 16, 1))
    outputs = model(images)
    assert float(model.compute_loss(images, None, outputs)) == pytest.approx(
        float(model.compute_loss(images, images, outputs)))
    assert float(model.compute_loss(images, 1 - images, outputs)) != pytest.approx(
        float(model.compute_loss(images, images, outputs)))


def test_z_is_sampled_at_beta_zero():
    model = helpers.tiny_model("fc", beta=0.0)
    images = helpers.binary_images(4, (16, 16, 1))
    first, second = model(images)["logits"], model(images)["logits"]
    assert not np.allclose(np.array(first), np.array(second))


def test_beta_variable_changes_the_loss_of_the_next_step():
    model = helpers.tiny_model("fc", beta=1.0, compile=False)
    # Learning rate 0 (and batch statistics in training): the steps differ by beta alone.
    model.compile(optimizer=keras.optimizers.Adam(0.0), run_eagerly=False)
    images = helpers.binary_images(8, (16, 16, 1))
    model.seed_generator.state.assign([5, 0])
    low = model.fit(images, batch_size=8, epochs=1, verbose=0).history  # traced at beta 1
    model.beta = 100.0
    model.seed_generator.state.assign([5, 0])
    high = model.fit(images, batch_size=8, epochs=1, verbose=0).history
    assert high["kl_loss"] == pytest.approx(low["kl_loss"])
    assert low["loss"][0] == pytest.approx(
        low["reconstruction_loss"][0] + low["kl_loss"][0], rel=1e-5)
    assert high["loss"][0] == pytest.approx(
        high["reconstruction_loss"][0] + 100.0 * high["kl_loss"][0], rel=1e-5)


def test_metrics_reach_fit_evaluate_and_callbacks():
    model = helpers.tiny_model("conv")
    images = helpers.binary_images(8, (16, 16, 1))
    seen = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs))
    history = model.fit(images, batch_size=4, epochs=1, validation_data=(images, images),
                        callbacks=[callback], verbose=0)
    names = {"loss", "reconstruction_loss", "kl_loss"}
    assert set(history.history) == names | {f"val_{name}" for name in names}
    assert set(seen[0]) == set(history.history)
    assert set(model.evaluate(images, images, verbose=0, return_dict=True)) == names


def test_wrong_image_shape_is_refused_naming_the_expected_shape():
    model = helpers.tiny_model("fc")
    wrong = helpers.binary_images(4, (28, 28, 1))
    for call in (lambda: model.fit(wrong, epochs=1, verbose=0), lambda: model.encode(wrong),
                 lambda: model.fit(tf.data.Dataset.from_tensors((wrong, wrong)), verbose=0)):
        with pytest.raises(ValueError, match=r"expected images of shape \(batch, 16, 16, 1\)"):
            call()


def test_encode_accepts_images_without_channel_axis():
    model = helpers.tiny_model("fc")
    images = helpers.binary_images(3, (16, 16, 1))
    np.testing.assert_array_equal(model.encode(images[..., 0]), model.encode(images))


@pytest.mark.parametrize("beta", [-0.1, float("nan"), "1", True])
def test_invalid_beta_is_refused(beta):
    with pytest.raises(ValueError, match="beta must be"):
        helpers.tiny_model("fc", beta=beta)
    model = helpers.tiny_model("fc", compile=False)
    with pytest.raises(ValueError, match="beta must be"):
        model.beta = beta
    assert model.beta == 1.0


def test_invalid_architectures_are_refused():
    with pytest.raises(ValueError, match="architecture must be one of"):
        BetaVAE(architecture="resnet")
    with pytest.raises(ValueError, match="apply to architecture='conv' only"):
        BetaVAE(architecture="fc", encoder_filters=(8,))
    with pytest.raises(ValueError, match=r"decoder_reshape=\(4, 4, channels\)"):
        helpers.tiny_model("conv", decoder_reshape=(8, 8, 3))


def test_denoising_model_refuses_clean_data_saying_how_to_add_noise():
    model = helpers.tiny_model("fc", denoising=True)
    images = helpers.binary_images(4, (16, 16, 1))
    clean = [
        lambda: model.fit(images, epochs=1, verbose=0),
        lambda: model.fit(images, images.copy(), epochs=1, verbose=0),
        lambda: model.fit(tf.data.Dataset.from_tensors((images, images)), verbose=0),
        lambda: model.fit(tf.data.Dataset.from_tensors(images), verbose=0),
    ]
    for fit in clean:
        with pytest.raises(ValueError, match=r"make_dataset\(split, noise=True\)"):
            fit()
    noisy = np.where(np.random.default_rng(0).random(images.shape) < 0.1, 1 - images, images)
    model.fit(tf.data.Dataset.from_tensors((noisy, images)), epochs=1, verbose=0)


def test_same_seed_same_weights_and_codes():
    first, second = helpers.tiny_model("conv", seed=7), helpers.tiny_model("conv", seed=7)
    other = helpers.tiny_model("conv", seed=8)
    for a, b in zip(first.weights, second.weights):
        np.testing.assert_array_equal(np.array(a), np.array(b))
    assert any(not np.array_equal(np.array(a), np.array(b))
               for a, b in zip(first.trainable_weights, other.trainable_weights))
    images = helpers.binary_images(4, (16, 16, 1))
    np.testing.assert_array_equal(first.sample_codes(images, 3), second.sample_codes(images, 3))
    assert not np.array_equal(first.sample_codes(images, 3), first.sample_codes(images, 4))


def test_inference_methods_batch_and_agree():
    model = helpers.tiny_model("conv")
    images = helpers.binary_images(7, (16, 16, 1))
    z_mean, z_log_var = model.distribution_parameters(images, batch_size=3)
    outputs = model.encoder(images, training=False)
    np.testing.assert_allclose(z_mean, np.array(outputs["z_mean"]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(z_log_var, np.array(outputs["z_log_var"]), rtol=1e-5, atol=1e-6)
    probabilities = model.decode(z_mean, batch_size=2)
    assert probabilities.shape == (7, 16, 16, 1)
    assert probabilities.min() > 0 and probabilities.max() < 1
    np.testing.assert_allclose(model.reconstruct(images), probabilities, rtol=1e-6)
    with pytest.raises(ValueError, match=r"expected codes of shape \(N, 3\)"):
        model.decode(np.zeros((2, 4)))


@pytest.mark.parametrize("architecture", ["fc", "conv"])
def test_round_trips_and_one_step(architecture, tmp_path):
    model = helpers.tiny_model(architecture, beta=3.0, seed=1)
    images = helpers.binary_images(4, (16, 16, 1))
    helpers.check_config_round_trip(model)
    helpers.check_one_step_fit(model, images)
    model.beta = 0.5  # the current beta is what is saved
    loaded = helpers.check_saved_model_round_trip(model, images, tmp_path / "model.keras")
    assert loaded.get_config()["beta"] == 0.5
    loaded.run_eagerly = True
    helpers.check_one_step_fit(loaded, images)  # training resumes


@pytest.mark.parametrize("run_eagerly", [True, False])
def test_validation_on_batch_statistics_leaves_the_moving_averages_alone(run_eagerly):
    images = helpers.binary_images(8, (16, 16, 1))
    model = helpers.tiny_model("conv", validation_statistics="batch_statistics",
                               run_eagerly=run_eagerly)
    moving = [np.array(variable) for variable in model.non_trainable_variables
              if "moving" in variable.path]
    assert moving
    outputs = model(images, training=False)
    batch = model.encoder(images, training=True)["z_mean"]  # updates the moving averages...
    for variable, value in zip([v for v in model.non_trainable_variables
                                if "moving" in v.path], moving):
        variable.assign(value)  # ...so put them back before checking evaluate
    np.testing.assert_allclose(outputs["z_mean"], batch, rtol=1e-5, atol=1e-5)
    inference = model.encoder(images, training=False)["z_mean"]
    assert not np.allclose(outputs["z_mean"], inference, atol=1e-3)
    model.evaluate(images, images, batch_size=8, verbose=0)
    after = [np.array(variable) for variable in model.non_trainable_variables
             if "moving" in variable.path]
    for before, now in zip(moving, after):
        np.testing.assert_array_equal(before, now)
    helpers.check_config_round_trip(model)


def test_validation_statistics_is_checked():
    with pytest.raises(ValueError, match="validation_statistics must be one of"):
        helpers.tiny_model("fc", validation_statistics="batch")
