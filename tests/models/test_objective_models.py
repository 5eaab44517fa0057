"""The successors' models: one step, the `.keras` and export round trips, the loss against
numpy, AnnealedVAE's schedule across a reload, FactorVAE's discriminator."""

import helpers
import keras
import numpy as np
import numpy_objectives
import pytest

from bvae_tf import export
from bvae_tf.models import DIPVAE, AnnealedVAE, BetaTCVAE, BetaVAE, FactorVAE

SIZES = {"image_shape": (16, 16, 1), "latent_dim": 3, "encoder_units": (12,),
         "decoder_units": (12,)}
CONV_SIZES = {"encoder_filters": (2, 4), "decoder_reshape": (4, 4, 3), "decoder_filters": (2,),
              "output_strides": 2}
# objective -> (class, its arguments, the metric it adds to the logs)
OBJECTIVES = {
    "beta_tcvae": (BetaTCVAE, {"tc_weight": 5.0, "dataset_size": 1000}, "total_correlation"),
    "dip_vae_i": (DIPVAE, {"dip_type": "i", "lambda_od": 2.0, "lambda_d": 20.0}, "dip_penalty"),
    "dip_vae_ii": (DIPVAE, {"dip_type": "ii", "lambda_od": 3.0, "lambda_d": 3.0}, "dip_penalty"),
    "annealed_vae": (AnnealedVAE, {"max_capacity": 8.0, "capacity_steps": 4, "beta": 10.0},
                     "capacity"),
    "factor_vae": (FactorVAE, {"tc_weight": 7.0, "discriminator_units": (8, 8)},
                   "total_correlation"),
}


def tiny(objective, architecture="fc", run_eagerly=True, **options):
    """A small compiled model of `objective` on 16x16 images."""
    model_class, arguments, _ = OBJECTIVES[objective]
    sizes = {**SIZES, **(CONV_SIZES if architecture == "conv" else {})}
    model = model_class(architecture=architecture, seed=0, **sizes, **{**arguments, **options})
    model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=run_eagerly)
    model.optimizer.build(model.trainable_variables)
    return model


def _array(tensor):
    return keras.ops.convert_to_numpy(tensor)


@pytest.mark.parametrize("architecture", ["fc", "conv"])
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_one_step_reports_the_objectives_term(objective, architecture):
    model = tiny(objective, architecture)
    assert isinstance(model, BetaVAE)
    helpers.check_config_round_trip(model)
    images = helpers.binary_images(8, model.image_shape)
    before = [np.array(variable) for variable in model.weights]
    history = model.fit(images, batch_size=8, epochs=1, verbose=0)
    logs = {key: values[-1] for key, values in history.history.items()}
    extra = {"total_correlation", "discriminator_loss"} if objective == "factor_vae" else {
        OBJECTIVES[objective][2]}
    assert set(logs) == {"loss", "reconstruction_loss", "kl_loss"} | extra
    assert all(np.isfinite(value) for value in logs.values()), logs
    changed = {id(variable) for variable, old in zip(model.weights, before)
               if not np.array_equal(np.array(variable), old)}
    networks = [model.encoder, model.decoder] + (
        [model.discriminator] if objective == "factor_vae" else [])
    for network in networks:  # FactorVAE: both trained, each by its own optimizer
        assert changed & {id(variable) for variable in network.trainable_weights}, network.name
    if objective == "factor_vae":
        assert not {id(v) for v in model.discriminator.weights} & {
            id(v) for v in model.trainable_weights}
        assert int(model.discriminator_optimizer.iterations) == 1
        assert model.evaluate(images, verbose=0, return_dict=True)["discriminator_loss"] > 0


def test_factor_vae_save_weights_keeps_the_discriminator_and_its_optimizer(tmp_path):
    model = tiny("factor_vae")
    model.fit(helpers.binary_images(8, model.image_shape), batch_size=4, verbose=0)
    model.save_weights(tmp_path / "factor.weights.h5")  # as bvae_tf.training's resume state
    restored = tiny("factor_vae")
    restored.load_weights(tmp_path / "factor.weights.h5")
    pairs = zip(model.discriminator.weights + model.discriminator_optimizer.variables,
                restored.discriminator.weights + restored.discriminator_optimizer.variables)
    for expected, actual in pairs:
        np.testing.assert_array_equal(np.array(actual), np.array(expected))
    assert int(restored.discriminator_optimizer.iterations) == 2


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_saves_loads_and_exports(objective, tmp_path):
    model = tiny(objective)
    images = helpers.binary_images(8, model.image_shape)
    model.fit(images, batch_size=4, epochs=1, verbose=0)
    # keras.saving.load_model; class, config, outputs and the optimizer's state compared.
    loaded = helpers.check_saved_model_round_trip(model, images, tmp_path / "model.keras")
    for expected, actual in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(np.array(actual), np.array(expected))
    if objective == "factor_vae":
        for expected, actual in zip(model.discriminator_optimizer.variables,
                                    loaded.discriminator_optimizer.variables):
            np.testing.assert_array_equal(np.array(actual), np.array(expected))
    path = export.export_encoder(loaded, tmp_path / "served", objective)
    np.testing.assert_allclose(export.load_encoder(path)(images), model.encode(images),
                               rtol=1e-5, atol=1e-6)


def _noise_after(model, shape):
    """The N(0, I) noise the model's seed generator draws next, without advancing it."""
    generator = keras.random.SeedGenerator(0)
    generator.state.assign(model.seed_generator.state)
    return _array(keras.random.normal(shape, seed=generator))


def _numpy_regularizer(model, z_mean, z_log_var, noise):
    config = model.get_config()
    kl = numpy_objectives.kl_loss(z_mean, z_log_var)
    z = z_mean + np.exp(0.5 * z_log_var) * noise
    if isinstance(model, BetaTCVAE):
        return kl + config["tc_weight"] * numpy_objectives.total_correlation(
            z, z_mean, z_log_var, config["dataset_size"])
    if isinstance(model, DIPVAE):
        return kl + numpy_objectives.dip_penalty(z_mean, z_log_var, config["dip_type"],
                                                 config["lambda_od"], config["lambda_d"])
    if isinstance(model, AnnealedVAE):
        capacity = numpy_objectives.annealed_capacity(int(model.annealing_step),
                                                      config["max_capacity"],
                                                      config["capacity_steps"])
        return config["beta"] * abs(kl - capacity)
    logits = numpy_objectives.discriminator_logits(model.discriminator.get_weights(), z)
    return kl + config["tc_weight"] * numpy_objectives.density_ratio_total_correlation(logits)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_loss_equals_numpy_on_a_fixed_batch(objective):
    model = tiny(objective)
    images = helpers.binary_images(16, model.image_shape, seed=3)
    model.fit(images, batch_size=4, epochs=1, verbose=0)  # 4 steps: codes and capacity move
    outputs = model(images, training=False)
    z_mean, z_log_var = _array(outputs["z_mean"]), _array(outputs["z_log_var"])
    noise = _noise_after(model, z_mean.shape)
    loss = model.compute_loss(x=images, y=None, y_pred=outputs)
    expected = (numpy_objectives.reconstruction_loss(_array(outputs["logits"]), images)
                + _numpy_regularizer(model, z_mean, z_log_var, noise))
    assert float(loss) == pytest.approx(expected, rel=1e-4)


def test_annealed_capacity_is_on_schedule_after_steps_and_after_a_reload(tmp_path):
    model = tiny("annealed_vae", run_eagerly=False, capacity_steps=10, max_capacity=5.0)
    images = helpers.binary_images(12, model.image_shape)
    history = model.fit(images, batch_size=4, epochs=1, verbose=0)  # 3 steps
    assert int(model.annealing_step) == 3 and model.capacity == pytest.approx(1.5)
    assert history.history["capacity"][-1] == pytest.approx((0.0 + 0.5 + 1.0) / 3)
    model.save(tmp_path / "annealed.keras")
    loaded = keras.saving.load_model(tmp_path / "annealed.keras")
    assert loaded.capacity == pytest.approx(1.5)
    history = loaded.fit(images, batch_size=4, epochs=1, verbose=0)  # steps 3, 4, 5
    assert history.history["capacity"][-1] == pytest.approx((1.5 + 2.0 + 2.5) / 3)
    loaded.fit(images, batch_size=4, epochs=2, verbose=0)  # the schedule ends at 5 nats
    assert int(loaded.annealing_step) == 12 and loaded.capacity == 5.0
    resumed = tiny("annealed_vae", capacity_steps=10, max_capacity=5.0)
    model.save_weights(tmp_path / "annealed.weights.h5")  # as bvae_tf.training's resume
    resumed.load_weights(tmp_path / "annealed.weights.h5")
    assert int(resumed.annealing_step) == 3


def _discriminator_accuracy(model, codes):
    own = _array(model.discriminator(keras.ops.convert_to_tensor(codes)))
    shuffled = np.stack([np.random.default_rng(column).permutation(codes[:, column])
                         for column in range(codes.shape[1])], axis=1)
    permuted = _array(model.discriminator(keras.ops.convert_to_tensor(shuffled)))
    return 0.5 * (np.mean(own[:, 0] > own[:, 1]) + np.mean(permuted[:, 1] > permuted[:, 0]))


@pytest.mark.parametrize("shared, accuracy", [(False, (0.4, 0.6)), (True, (0.75, 1.0))])
def test_factor_vae_discriminator_is_at_chance_only_on_independent_codes(shared, accuracy):
    model = tiny("factor_vae", discriminator_units=(32, 32), discriminator_learning_rate=1e-2)
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((4000, 3)).astype("float32")
    if shared:
        codes = (codes[:, :1] + 0.1 * codes).astype("float32")  # one factor behind all three
    for batch in codes.reshape(20, 200, 3):
        model.train_discriminator(batch)
    test_codes = rng.standard_normal((2000, 3)).astype("float32")
    if shared:
        test_codes = (test_codes[:, :1] + 0.1 * test_codes).astype("float32")
    assert accuracy[0] <= _discriminator_accuracy(model, test_codes) <= accuracy[1]


@pytest.mark.parametrize("model_class, arguments, message", [
    (BetaTCVAE, {}, "BetaTCVAE needs dataset_size"),
    (BetaTCVAE, {"dataset_size": 0}, "dataset_size must be a whole number >= 1"),
    (BetaTCVAE, {"dataset_size": 9, "tc_weight": -1.0}, "tc_weight must be a finite number"),
    (DIPVAE, {"dip_type": "iii"}, "dip_type must be one of"),
    (DIPVAE, {"lambda_od": float("nan")}, "lambda_od must be a finite number"),
    (AnnealedVAE, {"capacity_steps": 0}, "capacity_steps must be a whole number >= 1"),
    (FactorVAE, {"discriminator_units": ()}, "discriminator_units must be a non-empty"),
    (FactorVAE, {"discriminator_learning_rate": 0.0}, "discriminator_learning_rate must be"),
])
def test_arguments_are_checked(model_class, arguments, message):
    with pytest.raises(ValueError, match=message):
        model_class(architecture="fc", **SIZES, **arguments)
