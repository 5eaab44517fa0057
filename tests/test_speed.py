"""bvae_tf.speed: the choice of precision and XLA, its cache, overrides, and the fused Adam.

The choice is driven by injected timings (`measure=`); one test runs the real probe on a
tiny model. tests/conftest.py pins `$BVAE_TF_PRECISION` and `$BVAE_TF_JIT_COMPILE` for the
session; the `no_overrides` fixture removes them where a test needs "auto".
"""

import functools
import json

import helpers
import keras
import numpy as np
import pytest
import tensorflow as tf

from bvae_tf import distributions, speed

CONFIG = {"architecture": "fc", "image_shape": (16, 16, 1), "latent_dim": 3,
          "encoder_units": (12,), "decoder_units": (12,)}
FLOAT32, FLOAT32_XLA = ("float32", False), ("float32", True)
BFLOAT16, BFLOAT16_XLA = ("mixed_bfloat16", False), ("mixed_bfloat16", True)
NO_BFLOAT16_CPU = {"cpu": "x", "cpu_flags": ["avx2", "avx512f"], "cpus": 2, "onednn": True,
                   "gpus": []}


@pytest.fixture
def no_overrides(monkeypatch):
    monkeypatch.delenv(speed.PRECISION_ENV, raising=False)
    monkeypatch.delenv(speed.JIT_COMPILE_ENV, raising=False)


class FakeProbe:
    """An injected `measure`: fixed images/s per candidate, and a record of its calls."""

    def __init__(self, rates):
        self.rates, self.calls = rates, []

    def __call__(self, model_config, batch_size, options):
        self.calls.append((model_config, batch_size, list(options)))
        return {option: self.rates[option] for option in options}


def _choice(rates, precision="float32", tmp_path=None):
    rows = speed.probe_table(CONFIG, 100, precision=precision, cache_dir=tmp_path,
                             measure=FakeProbe(rates))
    assert sum(row["chosen"] for row in rows) == 1
    return next((row["precision"], row["jit_compile"]) for row in rows if row["chosen"])


@pytest.mark.parametrize("rates, expected", [
    ({FLOAT32: 1000.0, FLOAT32_XLA: 1500.0}, FLOAT32_XLA),  # the fastest
    ({FLOAT32: 1000.0, FLOAT32_XLA: 900.0}, FLOAT32),
    ({FLOAT32: 1000.0, FLOAT32_XLA: 1020.0}, FLOAT32),  # within TOLERANCE: no compilation
    ({FLOAT32: 1000.0, FLOAT32_XLA: 1040.0}, FLOAT32_XLA),  # beyond it
])
def test_the_fastest_float32_configuration_is_chosen(rates, expected, tmp_path):
    assert _choice(rates, tmp_path=tmp_path) == expected


@pytest.mark.parametrize("rates, expected", [
    ({FLOAT32: 1000.0, FLOAT32_XLA: 1100.0, BFLOAT16: 1900.0, BFLOAT16_XLA: 1200.0}, BFLOAT16),
    ({FLOAT32: 1000.0, FLOAT32_XLA: 1100.0, BFLOAT16: 900.0, BFLOAT16_XLA: 2000.0},
     BFLOAT16_XLA),
    ({FLOAT32: 1000.0, FLOAT32_XLA: 700.0, BFLOAT16: 1010.0, BFLOAT16_XLA: 600.0}, FLOAT32),
])
def test_bfloat16_is_chosen_only_when_faster(rates, expected, tmp_path):
    assert _choice(rates, precision="auto", tmp_path=tmp_path) in rates  # a candidate
    rows = speed._rows(list(rates), rates)
    assert next((row["precision"], row["jit_compile"]) for row in rows if row["chosen"]) \
        == expected
    assert max(row["relative"] for row in rows) == 1.0


def test_bfloat16_is_a_candidate_only_on_native_hardware():
    assert speed.candidates(machine=NO_BFLOAT16_CPU) == [FLOAT32, FLOAT32_XLA]
    with_bf16 = {**NO_BFLOAT16_CPU, "cpu_flags": ["avx512f", "avx512_bf16"]}
    assert speed.candidates(machine=with_bf16) == [FLOAT32, FLOAT32_XLA, BFLOAT16, BFLOAT16_XLA]
    assert speed.candidates(jit_compile=False, machine=with_bf16) == [FLOAT32, BFLOAT16]
    assert not speed.native_bfloat16({**with_bf16, "onednn": False})
    assert speed.native_bfloat16({**NO_BFLOAT16_CPU, "cpu_flags": ["amx_bf16"]})
    for capability, native in (([7, 5], False), ([8, 0], True), ([9, 0], True)):
        gpu = {"name": "GPU", "compute_capability": capability}
        assert speed.native_bfloat16({**with_bf16, "gpus": [gpu]}) is native  # GPU decides
    this_machine = speed.machine_description()
    assert set(this_machine) == {"cpu", "cpu_flags", "cpus", "onednn", "gpus"}
    assert this_machine["cpus"] >= 1


def test_the_probe_is_cached_per_machine_config_and_batch(tmp_path, no_overrides):
    probe = FakeProbe({FLOAT32: 1000.0, FLOAT32_XLA: 2000.0, BFLOAT16: 3000.0,
                       BFLOAT16_XLA: 500.0})
    resolve = functools.partial(speed.resolve, cache_dir=tmp_path, measure=probe)
    first = resolve(CONFIG, 100)
    assert len(probe.calls) == 1 and probe.calls[0][1] == 100
    assert resolve({**CONFIG, "beta": 4.0, "seed": 3, "denoising": True}, 100) == first  # hit
    assert len(probe.calls) == 1
    resolve(CONFIG, 64)  # another batch size: a miss
    resolve({**CONFIG, "latent_dim": 5}, 100)  # another configuration: a miss
    assert resolve(CONFIG, 100, jit_compile=True)[1] is True  # other candidates: a miss
    assert len(probe.calls) == 4
    resolve(CONFIG, 100, refresh=True)
    assert len(probe.calls) == 5
    entries = json.loads(speed.cache_path(tmp_path).read_text())
    assert len(entries) == 4
    key = speed.cache_key(CONFIG, 100, speed.candidates())
    assert entries[key]["description"]["machine"] == speed.machine_description()
    assert entries[key]["description"]["tensorflow"] == tf.__version__
    assert entries[key]["description"]["config"]["encoder_units"] == [12]
    assert speed.cache_key({**CONFIG, "beta": 0.0}, 100, speed.candidates()) == key
    assert speed.cache_key(CONFIG, 101, speed.candidates()) != key


def test_a_broken_cache_file_is_measured_again(tmp_path, no_overrides):
    speed.cache_path(tmp_path).parent.mkdir(parents=True)
    speed.cache_path(tmp_path).write_text("{not json")
    probe = FakeProbe({FLOAT32: 1.0, FLOAT32_XLA: 2.0, BFLOAT16: 3.0, BFLOAT16_XLA: 4.0})
    speed.resolve(CONFIG, 8, cache_dir=tmp_path, measure=probe)
    assert len(probe.calls) == 1 and len(json.loads(speed.cache_path(tmp_path).read_text())) == 1


def _refuse(*args):
    raise AssertionError("the probe ran")


def test_explicit_arguments_and_environment_variables_beat_the_probe(monkeypatch, tmp_path,
                                                                     no_overrides):
    resolve = functools.partial(speed.resolve, CONFIG, 100, cache_dir=tmp_path,
                                measure=_refuse)
    assert resolve(precision="mixed_bfloat16", jit_compile=True) == BFLOAT16_XLA
    monkeypatch.setenv(speed.PRECISION_ENV, "mixed_bfloat16")
    monkeypatch.setenv(speed.JIT_COMPILE_ENV, "FALSE")
    assert resolve() == BFLOAT16
    assert resolve(precision="float32", jit_compile="true") == FLOAT32_XLA  # arguments first
    monkeypatch.setenv(speed.JIT_COMPILE_ENV, "auto")  # only what is left open is probed
    probe = FakeProbe({BFLOAT16: 1.0, BFLOAT16_XLA: 2.0})
    assert speed.resolve(CONFIG, 100, cache_dir=tmp_path, measure=probe) == BFLOAT16_XLA
    assert probe.calls[0][2] == [BFLOAT16, BFLOAT16_XLA]


@pytest.mark.parametrize("variable, value, message", [
    (speed.PRECISION_ENV, "float16", r"\$BVAE_TF_PRECISION must be one of"),
    (speed.JIT_COMPILE_ENV, "sometimes", r"\$BVAE_TF_JIT_COMPILE must be True, False"),
])
def test_bad_environment_values_are_refused_naming_the_variable(variable, value, message,
                                                                monkeypatch, no_overrides):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=message):
        speed.resolve(CONFIG, 100, measure=_refuse)


@pytest.mark.parametrize("arguments, message", [
    ({"precision": "float16"}, r"precision must be one of \(.*'auto'\); got 'float16'"),
    ({"jit_compile": "yes please"}, "jit_compile must be True, False or 'auto'"),
    ({"batch_size": 0}, "batch_size must be an int >= 1"),
])
def test_bad_arguments_are_refused_naming_them(arguments, message, tmp_path):
    arguments = {"model_config": CONFIG, "batch_size": 100, "precision": "auto",
                 "cache_dir": tmp_path, "measure": _refuse, **arguments}
    with pytest.raises(ValueError, match=message):
        speed.probe_table(**arguments)


def test_format_table_shows_the_machine_and_every_row():
    rows = speed._rows([FLOAT32, FLOAT32_XLA], {FLOAT32: 1234.0, FLOAT32_XLA: 2468.0})
    table = speed.format_table(rows, CONFIG, 100)
    lines = table.splitlines()
    assert lines[0].startswith("machine: ") and "native bfloat16: " in lines[0]
    assert '"latent_dim": 3' in lines[1] and lines[1].endswith("batch 100")
    assert lines[-2:] == ["| float32 | off | 1,234 | 0.50 |  |",
                          "| float32 | on | 2,468 | 1.00 | yes |"]


def test_the_real_probe_measures_every_candidate_and_caches(tmp_path, no_overrides):
    """Trains every candidate of this machine on a tiny model: about 12 s on 2 cores."""
    options = speed.candidates()
    measured = []

    def measure(model_config, batch_size, candidates):
        rates = speed.measure_candidates(model_config, batch_size, candidates, seconds=0.6,
                                         rounds=2)
        measured.append(rates)
        return rates

    choice = speed.resolve(CONFIG, 16, cache_dir=tmp_path, measure=measure)
    assert choice in options and list(measured[0]) == options
    assert all(rate > 16 for rate in measured[0].values())  # more than one batch a second
    assert speed.resolve(CONFIG, 16, cache_dir=tmp_path, measure=_refuse) == choice  # cached


def _losses_and_gradients(log_likelihood, logits, targets):
    with tf.GradientTape() as tape:
        tape.watch([logits, targets])
        value = log_likelihood(logits, targets)
        loss = tf.reduce_sum(value * tf.range(1.0, 4.0))  # rows weighted differently
    return [value, *tape.gradient(loss, [logits, targets])]


def test_the_hand_written_loss_gradient_is_autodiffs():
    """`distributions.bernoulli_log_likelihood` against TFP's Bernoulli and autodiff."""
    rng = np.random.default_rng(0)
    logits = tf.constant(rng.normal(scale=4.0, size=(3, 8, 8, 1)).astype(np.float32))
    targets = tf.constant(rng.random((3, 8, 8, 1)).astype(np.float32))

    def reference(logits, targets):
        pixels = distributions.tfd.Bernoulli(logits=logits, dtype=tf.float32)
        return tf.reduce_sum(pixels.log_prob(targets), axis=[1, 2, 3])

    expected = _losses_and_gradients(reference, logits, targets)
    actual = _losses_and_gradients(distributions.bernoulli_log_likelihood, logits, targets)
    for name, want, got in zip(["value", "d logits", "d targets"], expected, actual):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)
    low = distributions.bernoulli_log_likelihood(tf.cast(logits, tf.bfloat16), targets)
    assert low.dtype == tf.float32  # summed in float32


def _train(optimizer_class, jit_compile, **betas):
    rng = np.random.default_rng(0)
    variables = [keras.Variable(rng.normal(size=shape).astype(np.float32))
                 for shape in ((50, 7), (7,))]
    optimizer = optimizer_class(learning_rate=1e-2, epsilon=1e-8, **betas)
    optimizer.build(variables)
    apply = tf.function(lambda gradients: optimizer.apply(gradients, variables),
                        jit_compile=jit_compile)
    for _ in range(5):
        apply([tf.constant(rng.normal(size=v.shape).astype(np.float32)) for v in variables])
    return [np.array(v) for v in variables + list(optimizer.variables)]


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("betas, rtol", [
    # 1 - beta exact in float32: the same arithmetic, to rounding.
    ({"beta_1": 0.5, "beta_2": 0.75}, 2e-6),
    # Defaults: the fused kernel computes 1 - beta_2 in float32, 0.0010000467 (as TF1's
    # AdamOptimizer of the authors' code did), Keras from the double 0.001: v differs by
    # 5e-5 relative.
    ({}, 2e-4),
])
def test_fused_adam_is_keras_adam(jit_compile, betas, rtol):
    expected = _train(keras.optimizers.Adam, False, **betas)
    actual = _train(speed.Adam, jit_compile, **betas)
    assert len(actual) == len(expected) == 8  # 2 variables; iterations, rate, 2 moments each
    for want, got in zip(expected, actual):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_a_model_trains_and_reloads_with_fused_adam(precision, tmp_path):
    model = helpers.tiny_model("conv", compile=False, precision=precision)
    model.compile(optimizer=speed.Adam(1e-2, epsilon=1e-8), run_eagerly=True)
    images = helpers.binary_images(4, (16, 16, 1))
    helpers.check_one_step_fit(model, images)
    loaded = helpers.check_saved_model_round_trip(model, images, tmp_path / "model.keras")
    assert type(loaded.optimizer) is speed.Adam and loaded.optimizer.epsilon == 1e-8


def test_the_probe_says_in_one_line_that_it_measures_and_a_cached_answer_says_nothing(
        tmp_path, no_overrides, capsys):
    probe = FakeProbe({FLOAT32: 1.0, FLOAT32_XLA: 2.0, BFLOAT16: 3.0, BFLOAT16_XLA: 4.0})
    speed.resolve(CONFIG, 8, cache_dir=tmp_path, measure=probe)
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1 and said[0].startswith("bvae_tf: measuring which of")
    assert str(speed.cache_path(tmp_path)) in said[0]
    speed.resolve(CONFIG, 8, cache_dir=tmp_path, measure=_refuse)
    assert capsys.readouterr().err == ""


def test_a_zoo_constructor_never_measures_and_uses_a_measured_answer(tmp_path, no_overrides,
                                                                      monkeypatch):
    from bvae_tf import zoo

    monkeypatch.setenv("BVAE_TF_CACHE", str(tmp_path))
    monkeypatch.setattr(speed, "measure_candidates", _refuse)
    model = zoo.build("mnist_fc")  # "auto" on an empty speed cache: float32, no XLA
    assert (model.precision, model.jit_compile) == ("float32", False)
    assert not speed.cache_path().exists()  # the empty cache stays empty
    config = zoo.entry("mnist_fc").model_config()
    probe = FakeProbe({FLOAT32: 1.0, FLOAT32_XLA: 2.0, BFLOAT16: 3.0, BFLOAT16_XLA: 4.0})
    measured = speed.resolve(config, 1000, measure=probe)  # what a trial does first
    assert len(probe.calls) == 1
    model = zoo.build("mnist_fc")
    assert (model.precision, model.jit_compile) == measured
