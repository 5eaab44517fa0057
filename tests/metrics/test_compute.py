"""`bvae_tf.metrics`: names of modules and numbers, `compute`'s option routing, seeds."""

import importlib
import subprocess
import sys
import types

import numpy as np
import pytest

from bvae_tf import metrics

TINY = {"num_train": 300, "num_test": 150, "num_validation": 150, "max_epochs": 50,
        "num_eval": 50, "num_variance_estimate": 300, "batch_size": 8, "n_estimators": 3}


def test_metrics_registry_and_public_api():
    assert list(metrics.METRICS) == ["beta_vae", "factor_vae", "mig", "dci", "sap"]
    assert all(hasattr(metrics, name) for name in metrics.__all__)
    assert metrics.PROTOCOLS == ("peychev2017", "higgins2017")


def test_parse_names():
    assert metrics.parse_names(" mig,beta_vae,mig ") == ["mig", "beta_vae"]
    with pytest.raises(ValueError, match="Unknown metric names \\['beta'\\]: choose among"):
        metrics.parse_names("beta,mig")
    with pytest.raises(ValueError, match="No metric selected"):
        metrics.parse_names("")


def test_options_reach_the_metrics_that_take_them(shapes_data, make_encoder):
    scores = metrics.compute(
        ["mig", "sap"], shapes_data, make_encoder("oracle"), 0, num_train=500,
        sap={"num_test": 200, "continuous_factors": True},
    )
    alone = metrics.mig(shapes_data, make_encoder("oracle"), 0, num_train=500)
    assert {key: scores[key] for key in alone} == alone
    assert scores["sap"] >= 0.9
    assert set(scores) == set(alone) | {"sap"} | {f"sap.{name}" for name in shapes_data.factor_names}


def test_protocol_goes_to_beta_vae_only(shapes_data, make_encoder):
    scores = metrics.compute(
        "beta_vae,mig", shapes_data, make_encoder("oracle"), 0, protocol="higgins2017",
        num_train=200, num_test=100, batch_size=4,
    )
    assert "beta_vae.epochs" not in scores and scores["mig"] > 0.5


def test_options_no_metric_takes_raise(shapes_data, make_encoder):
    with pytest.raises(ValueError, match="takes the options \\['protocol'\\]"):
        metrics.compute("mig", shapes_data, make_encoder("oracle"), 0, protocol="higgins2017")
    with pytest.raises(ValueError, match="mig=\\{'bins': ...\\}"):
        metrics.compute("mig", shapes_data, make_encoder("oracle"), 0, mig={"bins": 3})


def test_a_shared_random_state_is_drawn_in_turn(shapes_data, make_encoder):
    state = np.random.RandomState(0)
    first = metrics.compute("mig", shapes_data, make_encoder("rotated"), state, num_train=300)
    second = metrics.compute("mig", shapes_data, make_encoder("rotated"), state, num_train=300)
    assert first != second


def test_every_metric_repeats_with_the_same_seed(shapes_data, make_encoder):
    runs = [metrics.compute(list(metrics.METRICS), shapes_data, make_encoder("rotated"), 11,
                            **TINY) for _ in range(2)]
    assert runs[0] == runs[1]
    assert {"beta_vae", "factor_vae", "mig", "dci", "sap"} <= set(runs[0])


@pytest.mark.parametrize("name", list(metrics.METRICS))
def test_every_number_is_prefixed_with_its_metric(shapes_data, make_encoder, name):
    options = {key: value for key, value in TINY.items()
               if key in metrics._options_of(metrics.METRICS[name])}
    scores = metrics.METRICS[name](shapes_data, make_encoder("oracle"), 0, **options)
    assert name in scores
    assert [key for key in scores if not key.startswith(f"{name}.") and key != name] == []
    assert all(isinstance(value, float) for value in scores.values())


@pytest.mark.parametrize("name", ["mig", "dci", "sap"])
def test_the_package_attribute_is_the_function_not_its_module(name):
    module = importlib.import_module(f"bvae_tf.metrics.{name}")
    assert isinstance(module, types.ModuleType)
    assert getattr(metrics, name) is getattr(module, name) is metrics.METRICS[name]
    assert isinstance(getattr(metrics, name), types.FunctionType)
    script = (f"import bvae_tf.metrics.{name}; "
              f"from bvae_tf.metrics import {name}; print(type({name}).__name__)")
    fresh = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True)
    assert fresh.stdout.strip() == "function"
