"""The reference encoders committed in `saved_models/`: served as TF Serving would find them."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from bvae_tf import results, serving, zoo
from bvae_tf.reports import cards

ROOT = pathlib.Path(__file__).resolve().parents[1]
SERVED_DIR = ROOT / "saved_models"
LIMIT_BYTES = 30 * 2**20

# Loads each encoder with TensorFlow alone and prints its codes' shape and spread.
LOAD_EACH = r"""
import json, sys
import numpy as np, tensorflow as tf
out = {}
for path, side in json.loads(sys.argv[1]):
    encoder = tf.saved_model.load(path).signatures["serving_default"]
    images = np.random.default_rng(0).random((8, side, side, 1)).astype("float32") > 0.5
    codes = encoder(images=tf.constant(images, tf.float32))
    z_mean = codes["z_mean"].numpy()
    out[path] = [list(z_mean.shape), bool(np.isfinite(z_mean).all()),
                 float(z_mean.std(axis=0).max()), list(codes["z_log_var"].shape)]
print(json.dumps(out))
"""


def _served():
    return sorted(path.parent for path in SERVED_DIR.glob("*/*/1/saved_model.pb"))


def test_only_served_references_are_committed_and_they_fit_the_budget():
    names = [path.parent.name for path in _served()]
    assert set(names) <= set(cards.SERVED)
    size = sum(path.stat().st_size for path in SERVED_DIR.rglob("*") if path.is_file())
    assert size < LIMIT_BYTES, f"saved_models/ holds {size / 2**20:.1f} MiB"
    for name in names:
        entry = name.split("-", 1)[0]
        record = results.record_path(ROOT / "zoo", zoo.entry(entry).dataset, name)
        assert cards.is_reference(json.loads(record.read_text())), name


def test_models_config_lists_every_served_encoder():
    if not _served():
        pytest.skip("no reference encoder has landed in saved_models/ yet")
    text = (SERVED_DIR / serving.CONFIG_NAME).read_text(encoding="utf-8")
    assert text == serving.model_config(SERVED_DIR, base_path="/models")
    for path in _served():
        assert f"name: '{path.parent.name}'" in text


def test_each_served_encoder_loads_in_a_fresh_process_and_encodes():
    served = _served()
    if not served:
        pytest.skip("no reference encoder has landed in saved_models/ yet")
    sides = [[str(path), zoo.entry(path.parent.parent.name).image_shape[0]] for path in served]
    output = subprocess.run([sys.executable, "-c", LOAD_EACH, json.dumps(sides)],
                            check=False, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert output.returncode == 0, output.stderr[-2000:]
    found = json.loads(output.stdout.strip().splitlines()[-1])
    for path in served:
        latent = zoo.entry(path.parent.parent.name).latent_dim
        shape, finite, spread, log_var_shape = found[str(path)]
        assert shape == log_var_shape == [8, latent] and finite, path
        assert spread > 1e-3, f"{path}: the same code for every image"
