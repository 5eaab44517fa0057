"""Exported encoders: TF Serving layout, TensorFlow-only loading, errors."""

import os
import pathlib
import subprocess
import sys

import helpers
import numpy as np
import pytest
import tensorflow as tf

from bvae_tf import export

FRESH_PROCESS = """
import sys
import numpy as np
import tensorflow as tf
path, images, out = sys.argv[1:]
serve = tf.saved_model.load(path).signatures["serving_default"]
outputs = serve(images=tf.constant(np.load(images)))
np.savez(out, z_mean=outputs["z_mean"].numpy(), z_log_var=outputs["z_log_var"].numpy())
assert not [name for name in sys.modules if name.startswith("bvae_tf")]
"""


@pytest.fixture(scope="module")
def trained():
    """A small conv model after one step (so batch-norm statistics are not the initial ones)."""
    model = helpers.tiny_model("conv", seed=3)
    images = helpers.binary_images(8, (16, 16, 1), seed=4)
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    return model, images


def _start(command):
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def _finish(process):
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    return stdout


@pytest.mark.slow  # two fresh processes import TensorFlow: ~20 s of CPU
def test_export_serves_from_tensorflow_alone(trained, tmp_path):
    """A fresh process with TensorFlow and NumPy only, and `saved_model_cli`, both read it."""
    model, images = trained
    path = export.export_encoder(model, tmp_path / "models", "tiny")
    assert path == tmp_path / "models" / "tiny" / "1"
    assert (path / "saved_model.pb").is_file() and (path / "variables").is_dir()
    np.save(tmp_path / "images.npy", images)
    # Both processes start at once: each spends most of its time importing TensorFlow.
    fresh = _start([sys.executable, "-c", FRESH_PROCESS, str(path),
                    str(tmp_path / "images.npy"), str(tmp_path / "codes.npz")])
    cli = _start([str(pathlib.Path(sys.executable).parent / "saved_model_cli"), "show", "--all",
                  "--dir", str(path)])
    _finish(fresh)
    codes = np.load(tmp_path / "codes.npz")
    z_mean, z_log_var = model.distribution_parameters(images)
    np.testing.assert_allclose(codes["z_mean"], z_mean, atol=1e-5)
    np.testing.assert_allclose(codes["z_log_var"], z_log_var, atol=1e-5)
    signature = _finish(cli).split("signature_def['serving_default']:")[1]
    signature = signature.split("signature_def[")[0]
    for expected in ("inputs['images']", "outputs['z_mean']", "outputs['z_log_var']",
                     "shape: (-1, 16, 16, 1)", "shape: (-1, 3)", "dtype: DT_FLOAT"):
        assert expected in signature, expected


def test_load_encoder_matches_the_model_and_picks_the_latest_version(trained, tmp_path):
    model, images = trained
    other = helpers.tiny_model("conv", seed=9, compile=False)
    export.export_encoder(model, tmp_path, "tiny", version=2)
    export.export_encoder(other, tmp_path, "tiny", version=10)
    latest = export.load_encoder(tmp_path / "tiny")
    assert latest.path == tmp_path / "tiny" / "10"
    np.testing.assert_allclose(latest(images), other.encode(images), atol=1e-5)
    encoder = export.load_encoder(tmp_path / "tiny" / "2", batch_size=3)
    assert (encoder.image_shape, encoder.latent_dim) == ((16, 16, 1), 3)
    np.testing.assert_allclose(encoder(images), model.encode(images), atol=1e-5)
    np.testing.assert_allclose(encoder(images[..., 0]), model.encode(images), atol=1e-5)
    np.testing.assert_allclose(encoder.sample(images, 5), model.sample_codes(images, 5),
                               atol=1e-5)
    assert not np.allclose(encoder.sample(images, 5), encoder.sample(images, 6))


def test_existing_version_is_refused_unless_overwrite(trained, tmp_path):
    model, images = trained
    export.export_encoder(helpers.tiny_model("conv", seed=9, compile=False), tmp_path, "tiny")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export.export_encoder(model, tmp_path, "tiny")
    export.export_encoder(model, tmp_path, "tiny", overwrite=True)
    assert sorted(os.listdir(tmp_path / "tiny")) == ["1"]  # no temporary leftovers
    np.testing.assert_allclose(export.load_encoder(tmp_path / "tiny")(images),
                               model.encode(images), atol=1e-5)
    with pytest.raises(ValueError, match="version must be an int >= 1"):
        export.export_encoder(model, tmp_path, "tiny", version=0)


def _save_module(path, signature_name, input_name):
    module = tf.Module()
    module.scale = tf.Variable(2.0)
    spec = tf.TensorSpec([None, 16, 16, 1], tf.float32, name=input_name)
    module.serve = tf.function(lambda x: {"z_mean": tf.reduce_mean(x, [1, 2]) * module.scale},
                               input_signature=[spec])
    tf.saved_model.save(module, str(path), signatures={signature_name: module.serve})


def test_load_encoder_errors(trained, tmp_path):
    with pytest.raises(FileNotFoundError, match="No SavedModel"):
        export.load_encoder(tmp_path / "missing")
    _save_module(tmp_path / "predict" / "1", "predict", "images")
    with pytest.raises(ValueError, match="no 'serving_default' signature"):
        export.load_encoder(tmp_path / "predict")
    _save_module(tmp_path / "renamed" / "1", "serving_default", "x")
    with pytest.raises(ValueError, match="expected input 'images' and outputs"):
        export.load_encoder(tmp_path / "renamed")
    encoder = export.load_encoder(export.export_encoder(trained[0], tmp_path, "tiny"))
    with pytest.raises(ValueError, match=r"images of shape \(N, 16, 16, 1\)"):
        encoder(np.zeros((2, 28, 28, 1), np.float32))
