"""BetaVAE on small sizes: outputs, loss, beta, metrics, errors and round trips."""

import helpers
import keras
import numpy as np
import pytest
import tensorflow as tf

from bvae_tf.models import BetaVAE
from bvae_tf.models.beta_vae import PRECISIONS

# Every test that builds a model runs in both precisions (issue 11).
PER_PRECISION = pytest.mark.parametrize("precision", PRECISIONS)


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


@PER_PRECISION
def test_outputs_are_named_tensors_of_the_right_shapes(precision):
    model = helpers.tiny_model("conv", precision=precision)
    outputs = model(helpers.binary_images(5, (16, 16, 1)))
    assert {key: tuple(value.shape) for key, value in outputs.items()} == {
        "z_mean": (5, 3), "z_log_var": (5, 3), "logits": (5, 16, 16, 1)
    }


@PER_PRECISION
def test_model_is_built_and_stores_its_arguments(precision):
    model = helpers.tiny_model("conv", beta=2.5, denoising=True, compile=False,
                               precision=precision)
    assert model.built
    assert (model.latent_dim, model.image_shape, model.denoising) == (3, (16, 16, 1), True)
    assert model.decoder_reshape == (4, 4, 3) and model.beta == 2.5


@pytest.mark.parametrize("beta", [0.0, 1.0, 4.0])
@PER_PRECISION
def test_compute_loss_matches_the_definition(beta, precision):
    model = helpers.tiny_model("fc", beta=beta, precision=precision)
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


@PER_PRECISION
def test_targets_default_to_inputs(precision):
    model = helpers.tiny_model("fc", precision=precision)
    images = helpers.binary_images(4, (16, 16, 1))
    outputs = model(images)
    assert float(model.compute_loss(images, None, outputs)) == pytest.approx(
        float(model.compute_loss(images, images, outputs)))
    assert float(model.compute_loss(images, 1 - images, outputs)) != pytest.approx(
        float(model.compute_loss(images, images, outputs)))


@PER_PRECISION
def test_z_is_sampled_at_beta_zero(precision):
    model = helpers.tiny_model("fc", beta=0.0, precision=precision)
    images = helpers.binary_images(4, (16, 16, 1))
    first, second = model(images)["logits"], model(images)["logits"]
    assert not np.allclose(np.array(first), np.array(second))


@PER_PRECISION
def test_beta_variable_changes_the_loss_of_the_next_step(precision):
    model = helpers.tiny_model("fc", beta=1.0, compile=False, precision=precision)
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


@PER_PRECISION
def test_metrics_reach_fit_evaluate_and_callbacks(precision):
    model = helpers.tiny_model("conv", precision=precision)
    images = helpers.binary_images(8, (16, 16, 1))
    seen = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs))
    history = model.fit(images, batch_size=4, epochs=1, validation_data=(images, images),
                        callbacks=[callback], verbose=0)
    names = {"loss", "reconstruction_loss", "kl_loss"}
    assert set(history.history) == names | {f"val_{name}" for name in names}
    assert set(seen[0]) == set(history.history)
    assert set(model.evaluate(images, images, verbose=0, return_dict=True)) == names


@PER_PRECISION
def test_wrong_image_shape_is_refused_naming_the_expected_shape(precision):
    model = helpers.tiny_model("fc", precision=precision)
    wrong = helpers.binary_images(4, (28, 28, 1))
    for call in (lambda: model.fit(wrong, epochs=1, verbose=0), lambda: model.encode(wrong),
                 lambda: model.fit(tf.data.Dataset.from_tensors((wrong, wrong)), verbose=0)):
        with pytest.raises(ValueError, match=r"expected images of shape \(batch, 16, 16, 1\)"):
            call()


@PER_PRECISION
def test_encode_accepts_images_without_channel_axis(precision):
    model = helpers.tiny_model("fc", precision=precision)
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
        BetaVAE(architecture="fc", image_shape=(8, 8, 1), latent_dim=2, encoder_units=(4,),
                decoder_units=(4,), encoder_filters=(8,))
    with pytest.raises(ValueError, match=r"decoder_reshape=\(4, 4, channels\)"):
        helpers.tiny_model("conv", decoder_reshape=(8, 8, 3))
    with pytest.raises(ValueError, match=r"needs \['image_shape', 'latent_dim', "
                                         r"'encoder_units', 'decoder_units', 'encoder_filters'.*"
                                         r"bvae_tf.zoo.build"):
        BetaVAE(architecture="conv")


@PER_PRECISION
def test_denoising_model_refuses_clean_data_saying_how_to_add_noise(precision):
    model = helpers.tiny_model("fc", denoising=True, precision=precision)
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


@PER_PRECISION
def test_same_seed_same_weights_and_codes(precision):
    first, second = (helpers.tiny_model("conv", seed=7, precision=precision)
                     for _ in range(2))
    other = helpers.tiny_model("conv", seed=8, precision=precision)
    for a, b in zip(first.weights, second.weights):
        np.testing.assert_array_equal(np.array(a), np.array(b))
    assert any(not np.array_equal(np.array(a), np.array(b))
               for a, b in zip(first.trainable_weights, other.trainable_weights))
    images = helpers.binary_images(4, (16, 16, 1))
    np.testing.assert_array_equal(first.sample_codes(images, 3), second.sample_codes(images, 3))
    assert not np.array_equal(first.sample_codes(images, 3), first.sample_codes(images, 4))


@PER_PRECISION
def test_inference_methods_batch_and_agree(precision):
    model = helpers.tiny_model("conv", precision=precision)
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
@PER_PRECISION
def test_round_trips_and_one_step(architecture, tmp_path, precision):
    model = helpers.tiny_model(architecture, beta=3.0, seed=1, precision=precision)
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


@pytest.mark.parametrize("architecture", ["fc", "conv"])
def test_bfloat16_is_the_models_own_policy_and_sums_stay_float32(architecture):
    before = keras.config.dtype_policy().name
    model = helpers.tiny_model(architecture, precision="mixed_bfloat16")
    assert keras.config.dtype_policy().name == before == "float32"  # no global side effect
    heads = {"z_mean", "z_log_var"}
    for network in (model.encoder, model.decoder):
        for layer in network.layers[1:]:  # after the Input
            expected = "float32" if layer.name in heads else "mixed_bfloat16"
            assert layer.dtype_policy.name == expected, layer.name
    assert {variable.dtype for variable in model.weights} == {"float32"}
    float32_model = helpers.tiny_model(architecture)
    assert {layer.dtype_policy.name for layer in float32_model.decoder.layers} == {"float32"}
    images = helpers.binary_images(4, (16, 16, 1))
    outputs = model(images, training=True)
    assert {key: value.dtype for key, value in outputs.items()} == dict.fromkeys(
        outputs, "float32")
    assert model.decoder(outputs["z_mean"]).dtype == "bfloat16"  # cast up before the loss
    assert model.encode(images).dtype == model.decode(np.zeros((2, 3))).dtype == np.float32
    assert all(value.dtype == np.float32 for value in model.distribution_parameters(images))
    loss = model.compute_loss(images, images, outputs)
    assert loss.dtype == "float32"
    assert float(model.reconstruction_loss_tracker.result()) > 0


def test_precision_is_validated_and_saved(tmp_path):
    with pytest.raises(ValueError, match=r"precision must be one of \('float32', "
                                         r"'mixed_bfloat16'\); got 'float16'"):
        helpers.tiny_model("fc", precision="float16")
    model = helpers.tiny_model("fc", precision="mixed_bfloat16", compile=False)
    assert model.precision == model.get_config()["precision"] == "mixed_bfloat16"
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert loaded.precision == "mixed_bfloat16"
    assert loaded.decoder.get_layer("output").dtype_policy.name == "mixed_bfloat16"
    assert helpers.tiny_model("fc").precision == "float32"


def _device_and_host_data():
    from bvae_tf.data import pipeline

    images = helpers.binary_images(300, (16, 16, 1), seed=1)
    options = {"batch_size": 100, "seed": 2}
    return ((pipeline.DeviceBatches(images, **options),
             pipeline.DeviceBatches(images[:200], shuffle=False, **options)),
            (pipeline.make_dataset(images, **options),
             pipeline.make_dataset(images[:200], shuffle=False, **options)))


@pytest.mark.parametrize("architecture", ["fc", "conv"])
def test_fit_on_device_batches_trains_as_on_the_host_pipeline(architecture):
    # Clean data: a denoising model's fit first reads one pass of a host dataset to check
    # its noise, which moves that dataset on by an epoch (the batches themselves are
    # compared bit for bit, noise included, in tests/data/test_pipeline.py).
    histories, weights, evaluated = [], [], []
    for train, validation in _device_and_host_data():
        model = helpers.tiny_model(architecture, run_eagerly=False)
        fitted = model.fit(train, validation_data=validation, epochs=2, verbose=0)
        histories.append(fitted.history)
        weights.append(model.get_weights())
        evaluated.append(model.evaluate(validation, verbose=0, return_dict=True))
    assert evaluated[0] == pytest.approx(evaluated[1], rel=1e-5)
    assert histories[0].keys() == histories[1].keys()
    for key in histories[0]:
        np.testing.assert_allclose(histories[0][key], histories[1][key], rtol=1e-5)
    for on_device, on_host in zip(*weights):
        np.testing.assert_allclose(on_device, on_host, rtol=1e-4, atol=1e-6)


def test_a_model_goes_from_device_batches_to_arrays_and_back():
    (train, validation), _ = _device_and_host_data()
    model = helpers.tiny_model("fc", run_eagerly=False)
    model.fit(train, validation_data=validation, epochs=1, verbose=0)
    images = helpers.binary_images(100, (16, 16, 1), seed=3)
    model.fit(images, epochs=1, verbose=0, batch_size=50)  # traced again, for arrays
    model.fit(train, epochs=1, verbose=0)
    assert model._device_batches == {}


def test_device_batches_of_the_wrong_kind_are_refused():
    from bvae_tf.data import pipeline

    model = helpers.tiny_model("fc", denoising=True)
    clean = pipeline.DeviceBatches(helpers.binary_images(8, (16, 16, 1)), batch_size=4)
    wide = pipeline.DeviceBatches(helpers.binary_images(8, (8, 8, 1)), batch_size=4,
                                  noise=True)
    with pytest.raises(ValueError, match="noise=True"):
        model.fit(clean, verbose=0)
    with pytest.raises(ValueError, match=r"`validation_data`.*\(8, 8, 1\).*\(16, 16, 1\)"):
        model.fit(np.zeros((4, 16, 16, 1)), np.ones((4, 16, 16, 1)), validation_data=wide,
                  verbose=0)
    with pytest.raises(ValueError, match="leave `y` None"):
        model.fit(wide, np.zeros(4), verbose=0)
    with pytest.raises(ValueError, match="not inside a tuple"):
        model.fit((clean, clean), verbose=0)


@pytest.mark.parametrize("data, message", [
    (tf.data.Dataset.from_tensor_slices(np.full((4, 16, 16, 1), np.nan, "float32")).batch(2),
     "2 NaN and 0 infinite"),
    (tf.data.Dataset.from_tensor_slices(np.zeros((0, 16, 16, 1), "float32")).batch(2),
     "the dataset is empty"),
    (tf.data.Dataset.from_tensor_slices({"image": np.zeros((4, 16, 16, 1), "float32")}).batch(2),
     r"yields dicts \(keys \['image'\]\)"),
    (tf.data.Dataset.from_tensor_slices(np.zeros((4, 16, 16, 1), "float32")),
     r"one unbatched image of shape \(16, 16, 1\).*dataset.batch"),
    (np.full((2, 16, 16, 1), np.nan, "float32"), "NaN"),
])
def test_fit_refuses_bad_data_saying_what_to_do(data, message):
    model = helpers.tiny_model("fc")
    with pytest.raises(ValueError, match=message):
        model.fit(data, epochs=1, verbose=0)


@pytest.mark.parametrize("rate", [-1.0, 0.0, float("nan"), float("inf"), True, "fast"])
def test_the_zoo_refuses_a_learning_rate_that_cannot_train(rate):
    from bvae_tf import zoo

    with pytest.raises(ValueError, match="learning_rate must be 'auto'"):
        zoo.build("mnist_fc", learning_rate=rate, precision="float32", jit_compile=False)


def test_conv_decoder_reshape_may_be_its_channels_alone():
    grid = helpers.tiny_model("conv", seed=5, compile=False)
    channels = helpers.tiny_model("conv", seed=5, compile=False, decoder_reshape=3)
    assert channels.decoder_reshape == channels.get_config()["decoder_reshape"] == (4, 4, 3)
    helpers.check_config_round_trip(channels)
    for expected, actual in zip(grid.weights, channels.weights):
        np.testing.assert_array_equal(np.array(actual), np.array(expected))
    rgb = helpers.tiny_model("conv", compile=False, image_shape=(24, 8, 3), decoder_reshape=5)
    assert rgb.decoder_reshape == (6, 2, 5) and rgb.decoder.output_shape == (None, 24, 8, 3)


@pytest.mark.parametrize("image_shape, decoder_reshape, message", [
    ((18, 16, 1), 3, r"image_shape \(18, 16, 1\): .* upsamples its grid 4x .* multiples of 4"),
    ((16, 16, 1), (2, 2, 3), r"decoder_reshape \(2, 2, 3\) upsampled 4x .*=\(4, 4, channels\)"),
    ((16, 16), 3, r"image_shape must be \(height, width, channels\)"),
    ((16, 0, 1), 3, r"image_shape must be \(height, width, channels\)"),
])
def test_image_shapes_the_conv_decoder_cannot_produce_are_refused(image_shape,
                                                                  decoder_reshape, message):
    with pytest.raises(ValueError, match=message):
        helpers.tiny_model("conv", compile=False, image_shape=image_shape,
                           decoder_reshape=decoder_reshape)


@pytest.mark.parametrize("architecture", ["fc", "conv"])
def test_gaussian_likelihood_loss_and_means(architecture):
    model = helpers.tiny_model(architecture, likelihood="gaussian", image_shape=(16, 16, 3))
    images = np.random.default_rng(0).normal(size=(4, 16, 16, 3)).astype(np.float32)
    outputs = model(images, training=False)
    loss = float(model.compute_loss(images, images, outputs))
    means = np.array(outputs["logits"], np.float64)
    reconstruction = (0.5 * ((images - means) ** 2).reshape(4, -1).sum(axis=1)
                      + 0.5 * means[0].size * np.log(2 * np.pi)).mean()
    np.testing.assert_allclose(float(model.reconstruction_loss_tracker.result()),
                               reconstruction, rtol=1e-5)
    assert loss > reconstruction  # plus beta * KL
    codes = model.encode(images)
    decoded = np.array(model.decoder(codes, training=False))
    np.testing.assert_allclose(model.decode(codes), decoded, rtol=1e-6)  # identity
    bernoulli = helpers.tiny_model(architecture)
    logits = np.array(bernoulli.decoder(codes, training=False))
    np.testing.assert_allclose(bernoulli.decode(codes), 1 / (1 + np.exp(-logits)), rtol=1e-5)
    assert model.get_config()["likelihood"] == "gaussian"
    with pytest.raises(ValueError, match=r"likelihood must be one of \('bernoulli', "):
        helpers.tiny_model(architecture, likelihood="l2")


def test_pixel_checks_follow_the_likelihood():
    standardized = np.random.default_rng(1).normal(size=(4, 16, 16, 1)).astype(np.float32)
    with pytest.raises(ValueError, match=r"pixels in \[0, 1\].*likelihood='gaussian'"):
        helpers.tiny_model("fc").fit(standardized, epochs=1, verbose=0)
    gaussian = helpers.tiny_model("fc", likelihood="gaussian")
    helpers.check_one_step_fit(gaussian, standardized)
    assert gaussian.encode(standardized).shape == (4, 3)
    nan = standardized.copy()
    nan[0, 0, 0, 0] = np.nan
    for call in (lambda: gaussian.fit(nan, epochs=1, verbose=0), lambda: gaussian.encode(nan)):
        with pytest.raises(ValueError, match=r"1 NaN and 0 infinite values; .* finite pixels\."):
            call()


@pytest.fixture
def global_policy():
    """Sets Keras' global dtype policy for one test, then puts the previous one back."""
    previous = keras.config.dtype_policy()
    yield keras.mixed_precision.set_global_policy
    keras.mixed_precision.set_global_policy(previous)


def test_precision_none_follows_the_global_policy_or_refuses_it(global_policy):
    assert helpers.tiny_model("fc", compile=False).precision == "float32"
    global_policy("mixed_bfloat16")
    model = helpers.tiny_model("conv")
    assert model.precision == model.get_config()["precision"] == "mixed_bfloat16"
    assert model.decoder.get_layer("logits").dtype_policy.name == "mixed_bfloat16"
    assert model.dtype_policy.name == "float32"  # images reach the encoder as float32
    helpers.check_one_step_fit(model, helpers.binary_images(4, (16, 16, 1)))
    explicit = helpers.tiny_model("fc", compile=False, precision="float32")
    assert {layer.dtype_policy.name for layer in explicit.decoder.layers[1:]} == {"float32"}
    global_policy("mixed_float16")
    with pytest.raises(ValueError, match=r"global dtype policy is 'mixed_float16', which "
                                         r"bvae_tf models cannot follow.*precision="):
        helpers.tiny_model("fc", compile=False)
