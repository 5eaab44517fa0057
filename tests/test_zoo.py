"""Every zoo entry: the paper's sizes, its defaults, one step, and both round trips."""

import os
import subprocess
import sys

import helpers
import keras
import numpy as np
import pytest

from bvae_tf import export, zoo
from bvae_tf.models import BetaVAE


def _bn(units):
    return 2 * units  # batch norm: gamma and beta (moving statistics are not trainable)


def _dense(fan_in, units, bias=False):
    return fan_in * units + (units if bias else 0)


def _conv(fan_in_channels, filters, bias=False):
    return 3 * 3 * fan_in_channels * filters + (filters if bias else 0)  # 3x3 kernels


def _heads(fan_in, latent):
    return 2 * _dense(fan_in, latent, bias=True)  # z_mean and z_log_var, with biases


# Trainable parameters from the layer sizes of DESIGN.md section 2 (hidden layers have no
# bias and are followed by batch norm; code heads and output layers have biases).
EXPECTED_TRAINABLE = {
    # 4096 -> 1200 -> 1200 -> 2 x 10; 10 -> 1200 -> 1200 -> 1200 -> 4096.
    "fc": (_dense(4096, 1200) + _bn(1200) + _dense(1200, 1200) + _bn(1200) + _heads(1200, 10)
           + _dense(10, 1200) + _bn(1200) + 2 * (_dense(1200, 1200) + _bn(1200))
           + _dense(1200, 4096, bias=True)),
    # conv 16 -> conv 32 -> flatten 16*16*32 -> 1024 -> 2 x 10;
    # 10 -> 1024 -> 8*8*64 -> convT 16 -> convT 4 -> convT 1 (with bias).
    "conv": (_conv(1, 16) + _bn(16) + _conv(16, 32) + _bn(32)
             + _dense(16 * 16 * 32, 1024) + _bn(1024) + _heads(1024, 10)
             + _dense(10, 1024) + _bn(1024) + _dense(1024, 8 * 8 * 64) + _bn(8 * 8 * 64)
             + _conv(64, 16) + _bn(16) + _conv(16, 4) + _bn(4) + _conv(4, 1, bias=True)),
    # 784 -> 512 -> 512 -> 2 x 16; 16 -> 512 -> 512 -> 512 -> 784.
    "mnist_fc": (_dense(784, 512) + _bn(512) + _dense(512, 512) + _bn(512) + _heads(512, 16)
                 + _dense(16, 512) + _bn(512) + 2 * (_dense(512, 512) + _bn(512))
                 + _dense(512, 784, bias=True)),
    # conv 8 -> conv 16 -> flatten 7*7*16 -> 512 -> 2 x 16;
    # 16 -> 512 -> 7*7*16 -> convT 8 -> convT 4 -> convT 1 (stride 1, with bias).
    "mnist_conv": (_conv(1, 8) + _bn(8) + _conv(8, 16) + _bn(16)
                   + _dense(7 * 7 * 16, 512) + _bn(512) + _heads(512, 16)
                   + _dense(16, 512) + _bn(512) + _dense(512, 7 * 7 * 16) + _bn(7 * 7 * 16)
                   + _conv(16, 8) + _bn(8) + _conv(8, 4) + _bn(4) + _conv(4, 1, bias=True)),
}
EXPECTED_TRAINABLE["fc_denoising"] = EXPECTED_TRAINABLE["fc"]
EXPECTED_TRAINABLE["conv_denoising"] = EXPECTED_TRAINABLE["conv"]


@pytest.mark.parametrize("name", zoo.NAMES)
def test_entry_has_the_paper_sizes_and_fits_one_step(name):
    model = zoo.get(name)(beta=2.0, seed=0)
    assert isinstance(model, BetaVAE) and type(model) is BetaVAE  # entries never subclass
    assert helpers.trainable_count(model) == EXPECTED_TRAINABLE[name]
    helpers.check_config_round_trip(model)
    model.run_eagerly = True  # one step; the traced step is tested on small models
    images = helpers.binary_images(4, model.image_shape)
    noisy = np.where(np.random.default_rng(1).random(images.shape) < 0.1, 1 - images, images)
    helpers.check_one_step_fit(model, noisy if model.denoising else images, images)


# The shapes entries write ~170 MB files (14M weights and two Adam slots each): slow.
@pytest.mark.parametrize("name", [
    pytest.param(name, marks=[] if name.startswith("mnist") else pytest.mark.slow)
    for name in zoo.NAMES
])
def test_entry_round_trips_through_a_keras_file(name, tmp_path):
    model = zoo.get(name)(beta=2.0, seed=0)
    images = helpers.binary_images(4, model.image_shape)
    model.run_eagerly = True
    model.fit(images, 1 - images if model.denoising else images, batch_size=4, verbose=0)
    loaded = helpers.check_saved_model_round_trip(model, images, tmp_path / f"{name}.keras")
    assert loaded.jit_compile == model.jit_compile


@pytest.mark.parametrize(
    "name, dataset, image_shape, latent_dim, denoising",
    [("fc", "shapes", (64, 64, 1), 10, False), ("conv", "shapes", (64, 64, 1), 10, False),
     ("fc_denoising", "shapes", (64, 64, 1), 10, True),
     ("conv_denoising", "shapes", (64, 64, 1), 10, True),
     ("mnist_fc", "mnist", (28, 28, 1), 16, False),
     ("mnist_conv", "mnist", (28, 28, 1), 16, False)],
)
def test_entry_defaults(name, dataset, image_shape, latent_dim, denoising):
    model = zoo.get(name)()
    entry = zoo.entry(name)
    assert (entry.dataset, entry.denoising, entry.architecture) == (
        dataset, denoising, model.architecture)
    assert {key: getattr(model, key) for key in entry.layers} == entry.layers
    assert (model.image_shape, model.latent_dim, model.denoising) == (
        image_shape, latent_dim, denoising)
    assert (model.beta, model.seed) == (1.0, 0)
    assert (model.encoder_activation, model.decoder_activation) == ("relu", "tanh")
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert float(optimizer.learning_rate) == pytest.approx(1e-3)
    assert optimizer.epsilon == 1e-8  # tf.train.AdamOptimizer's, as the authors'
    # tests/conftest.py pins "auto" to float32 without XLA ($BVAE_TF_PRECISION, ...)
    assert (model.precision, model.jit_compile) == ("float32", False)


@pytest.mark.parametrize("name, rate", [("fc", 3e-5), ("conv_denoising", 3e-5),
                                        ("mnist_fc", 1e-3), ("mnist_conv", 1e-3)])
def test_auto_learning_rate_at_beta_zero(name, rate):
    model = zoo.get(name)(beta=0.0)
    assert float(model.optimizer.learning_rate) == pytest.approx(rate)
    model = zoo.get(name)(beta=0.0, learning_rate=0.01, jit_compile=False, latent_dim=4)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert (model.jit_compile, model.latent_dim) == (False, 4)


def test_names_and_unknown_entries():
    assert zoo.NAMES == ("fc", "conv", "fc_denoising", "conv_denoising", "mnist_fc",
                         "mnist_conv")
    assert [zoo.get(name).__name__ for name in zoo.NAMES] == list(zoo.NAMES)
    for call in (zoo.get, zoo.entry, zoo.build):
        with pytest.raises(ValueError, match="choose one of fc, conv, fc_denoising"):
            call("vgg16")
    assert zoo.names("shapes") == zoo.NAMES[:4] and zoo.names("mnist") == zoo.NAMES[4:]
    with pytest.raises(ValueError, match="Unknown dataset 'cifar'"):
        zoo.names("cifar")


def test_every_number_of_the_table_has_a_source():
    for entry in zoo.ENTRIES.values():
        objective = {"model_options"} if entry.name in zoo.OBJECTIVE_NAMES else set()
        assert set(entry.sources) == {"image_shape", "latent_dim", "learning_rate",
                                      "beta_zero_learning_rate", "layers", "denoising",
                                      *objective}
        assert all(isinstance(text, str) and text for text in entry.sources.values())


def test_precision_and_xla_reach_the_model_and_the_optimizer_is_fused_adam():
    from bvae_tf import speed

    model = zoo.fc(beta=4.0, precision="mixed_bfloat16", jit_compile=True, latent_dim=3)
    assert (model.precision, model.jit_compile, model.latent_dim) == ("mixed_bfloat16", True, 3)
    assert isinstance(model.optimizer, speed.Adam) and model.optimizer.epsilon == 1e-8


OBJECTIVE_CLASSES = {"beta_tcvae": "BetaTCVAE", "dip_vae_i": "DIPVAE", "dip_vae_ii": "DIPVAE",
                     "annealed_vae": "AnnealedVAE", "factor_vae": "FactorVAE"}


def test_objective_entries_are_the_paper_nets_apart_from_the_paper_lists():
    assert zoo.OBJECTIVE_NAMES == tuple(f"{architecture}_{objective}"
                                        for objective in OBJECTIVE_CLASSES
                                        for architecture in ("fc", "conv"))
    assert set(zoo.OBJECTIVE_NAMES).isdisjoint(zoo.NAMES + zoo.names("shapes"))
    for name in zoo.OBJECTIVE_NAMES:
        item = zoo.entry(name)
        assert item.model_config() == zoo.entry(item.architecture).model_config()
        assert item.model_class == OBJECTIVE_CLASSES[name.split("_", 1)[1]]
    assert zoo.entry("fc_dip_vae_ii").model_options["dip_type"] == "ii"


def _shapes_images(shapes_data, num):
    random_state = np.random.RandomState(0)
    factors = shapes_data.sample_factors(num, random_state)
    return shapes_data.sample_observations_from_factors(factors, random_state)


@pytest.mark.parametrize("name", zoo.OBJECTIVE_NAMES)
def test_objective_entry_trains_a_step_on_shapes(name, shapes_data):
    model = zoo.get(name)(beta=1.0, seed=0)
    assert type(model).__name__ == OBJECTIVE_CLASSES[name.split("_", 1)[1]]
    assert helpers.trainable_count(model) == EXPECTED_TRAINABLE[model.architecture]
    model.run_eagerly = True
    history = model.fit(_shapes_images(shapes_data, 8), batch_size=8, verbose=0)
    assert all(np.isfinite(values[-1]) for values in history.history.values())


# Each writes a ~170 MB .keras file (the paper's nets, Adam's slots): slow.
@pytest.mark.slow
@pytest.mark.parametrize("name", zoo.OBJECTIVE_NAMES)
def test_objective_entry_saves_loads_and_exports(name, shapes_data, tmp_path):
    from bvae_tf import export

    model = zoo.get(name)(beta=1.0, seed=0)
    images = _shapes_images(shapes_data, 4)
    model.run_eagerly = True
    model.fit(images, batch_size=4, verbose=0)
    loaded = helpers.check_saved_model_round_trip(model, images, tmp_path / f"{name}.keras")
    path = export.export_encoder(loaded, tmp_path / "served", name)
    np.testing.assert_allclose(export.load_encoder(path)(images), model.encode(images),
                               rtol=1e-5, atol=1e-5)


LOAD_AFTER_IMPORT_BVAE_TF = """
import sys
import bvae_tf
assert "tensorflow" not in sys.modules  # `import bvae_tf` stays cheap: the CLI needs it
import keras
model = keras.saving.load_model(sys.argv[1])
print(type(model).__name__, model.latent_dim, model.likelihood)
"""


def test_a_saved_zoo_model_loads_in_a_fresh_process_after_import_bvae_tf(tmp_path):
    zoo.mnist_fc(latent_dim=2).save(tmp_path / "model.keras")
    loaded = subprocess.run([sys.executable, "-c", LOAD_AFTER_IMPORT_BVAE_TF,
                             str(tmp_path / "model.keras")], capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=300,
                            check=False)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert loaded.stdout.split() == ["BetaVAE", "2", "bernoulli"]


@pytest.mark.parametrize("name, options", [
    ("conv", {}),
    ("fc", {"encoder_units": (64,), "decoder_units": (64,)}),  # the entry's: 140 MB files
    pytest.param("fc", {}, marks=pytest.mark.slow),
])
def test_a_32x32_rgb_gaussian_model_trains_saves_loads_and_exports(name, options, tmp_path):
    model = zoo.build(name, image_shape=(32, 32, 3), likelihood="gaussian", **options)
    assert model.decoder.output_shape == (None, 32, 32, 3)
    images = np.random.default_rng(0).normal(size=(4, 32, 32, 3)).astype(np.float32)
    model.run_eagerly = True
    helpers.check_one_step_fit(model, images)  # standardized pixels, outside [0, 1]
    loaded = helpers.check_saved_model_round_trip(model, images, tmp_path / "rgb.keras")
    assert loaded.likelihood == "gaussian"
    encoder = export.load_encoder(export.export_encoder(loaded, tmp_path, "rgb"))
    assert (encoder.likelihood, encoder.image_shape) == ("gaussian", (32, 32, 3))
    np.testing.assert_allclose(encoder(images), model.encode(images), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"expected images of shape \(batch, 32, 32, 3\); "
                                         r"got shape \(2, 64, 64, 1\)"):
        encoder(np.zeros((2, 64, 64, 1), np.float32))


@pytest.mark.parametrize("name, image_shape, message", [
    ("conv", (30, 30, 3), (r"image_shape \(30, 30, 3\): the conv decoder upsamples its "
                           r"grid 8x .* multiples of 8\. Resize or crop the images \(e\.g\. "
                           r"to \(32, 32\)\)")),
    ("mnist_conv", (2, 2, 1), r"multiples of 4"),
    ("fc", (32, 32), r"image_shape must be \(height, width, channels\).*\(height, width, 1\)"),
])
def test_image_shapes_an_entry_cannot_take_are_refused_saying_why(name, image_shape, message):
    with pytest.raises(ValueError, match=message):
        zoo.build(name, image_shape=image_shape)


def test_the_paper_shape_builds_the_entry_and_the_authors_choices_take_one_argument():
    paper, default = zoo.conv(image_shape=(64, 64, 1), seed=1), zoo.conv(seed=1)
    assert {**paper.get_config(), "name": ""} == {**default.get_config(), "name": ""}
    assert paper.get_config()["decoder_reshape"] == (8, 8, 64)
    model = zoo.mnist_fc(**zoo.AUTHORS_CHOICES)
    assert (model.batch_norm_momentum, model.validation_statistics) == (
        0.999, "batch_statistics")
    assert model.encoder.get_layer("encoder_dense_1_batch_norm").momentum == 0.999
    keras_defaults = zoo.mnist_fc()
    assert (keras_defaults.batch_norm_momentum, keras_defaults.validation_statistics) == (
        0.99, "moving_averages")


@pytest.fixture
def global_policy(monkeypatch):
    """Sets Keras' global dtype policy for one test, then puts the previous one back."""
    monkeypatch.delenv("BVAE_TF_PRECISION", raising=False)
    previous = keras.config.dtype_policy()
    yield keras.mixed_precision.set_global_policy
    keras.mixed_precision.set_global_policy(previous)


def test_the_global_dtype_policy_is_followed_or_refused(global_policy):
    global_policy("mixed_bfloat16")
    model = zoo.mnist_fc(latent_dim=2)
    assert model.precision == "mixed_bfloat16"
    assert model.decoder.get_layer("output").dtype_policy.name == "mixed_bfloat16"
    assert zoo.mnist_fc(latent_dim=2, precision="float32").precision == "float32"
    global_policy("mixed_float16")
    with pytest.raises(ValueError, match=r"global dtype policy is 'mixed_float16'"):
        zoo.mnist_fc(latent_dim=2)
