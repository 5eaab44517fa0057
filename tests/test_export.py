"""Exported encoders: TF Serving layout, TensorFlow-only loading, errors."""

import math
import os
import pathlib
import re
import shutil
import subprocess
import sys

import helpers
import numpy as np
import pytest
import tensorflow as tf

from bvae_tf import export, serving

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
    np.testing.assert_allclose(encoder.sample_codes(images, 5), model.sample_codes(images, 5),
                               atol=1e-5)
    assert not np.allclose(encoder.sample_codes(images, 5), encoder.sample_codes(images, 6))


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
    with pytest.raises(ValueError, match=r"expected images of shape \(batch, 16, 16, 1\)"):
        encoder(np.zeros((2, 28, 28, 1), np.float32))


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    """One exported encoder to copy and damage."""
    return export.export_encoder(trained[0], tmp_path_factory.mktemp("pristine"), "tiny")


def _data_file(version_dir):
    return next((version_dir / "variables").glob("variables.data-*"))


def _truncate(path):
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


def _flip_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


CORRUPTIONS = {
    "truncated variables data": lambda version: _truncate(_data_file(version)),
    "flipped byte in variables data": lambda version: _flip_byte(_data_file(version)),
    "truncated variables index": lambda version: _truncate(version / "variables" /
                                                           "variables.index"),
    "truncated saved_model.pb": lambda version: _truncate(version / "saved_model.pb"),
    "flipped byte in saved_model.pb": lambda version: _flip_byte(version / "saved_model.pb"),
    "empty saved_model.pb": lambda version: (version / "saved_model.pb").write_bytes(b""),
    "missing variables folder": lambda version: shutil.rmtree(version / "variables"),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_damaged_saved_model_is_one_clear_error(exported, tmp_path, corruption):
    """Issue 13, item 5: these ended in IndexError, DataLossError or OSError tracebacks."""
    version = tmp_path / "tiny" / "1"
    shutil.copytree(exported, version)
    CORRUPTIONS[corruption](version)
    with pytest.raises(ValueError, match=rf"encoder at {re.escape(str(version))} is damaged "
                                         r"or incomplete \(.*\)\. Export it again") as raised:
        export.load_encoder(version.parent)
    assert type(raised.value) is ValueError


def test_an_edited_graph_that_tensorflow_loads_is_caught_by_its_fingerprint(exported,
                                                                           tmp_path):
    """TF checksums variables, not `saved_model.pb`: an edit there loads unless fingerprinted."""
    version = tmp_path / "tiny" / "1"
    shutil.copytree(exported, version)
    graph = (version / "saved_model.pb").read_bytes()
    recorded = tf.__version__.encode()  # the producer's version, in the meta graph
    assert recorded in graph
    edited = recorded[:-1] + (b"8" if recorded.endswith(b"9") else b"9")
    (version / "saved_model.pb").write_bytes(graph.replace(recorded, edited, 1))
    assert "serving_default" in tf.saved_model.load(str(version)).signatures  # TF: no error
    with pytest.raises(ValueError, match=r"damaged .*does not match the checksum.*Export it"):
        export.load_encoder(version)


def test_staging_folders_of_a_killed_export_are_hidden_then_removed(trained, exported,
                                                                     tmp_path):
    """Issue 13, item 9: a kill during export left its staging folder beside the encoder."""
    model, images = trained
    name_dir = tmp_path / "models" / "entry" / "tiny"
    shutil.copytree(exported, name_dir / "1")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    killed = [name_dir / f".1-{gone}-0a1b2c3d", name_dir / ".2-k7x_q9zm"]  # now, and before
    shutil.copytree(exported, killed[0] / "saved_model" / "2")  # a complete one, to tempt
    killed[1].mkdir()
    running = name_dir / f".3-{os.getpid()}-feedbeef"  # an export still in progress
    running.mkdir()
    assert export.load_encoder(name_dir).path == name_dir / "1"
    assert serving.find_servables(tmp_path / "models") == [("tiny", name_dir)]
    export.export_encoder(model, name_dir.parent, "tiny", version=2)
    assert sorted(path.name for path in name_dir.iterdir()) == [running.name, "1", "2"]
    np.testing.assert_allclose(export.load_encoder(name_dir)(images), model.encode(images),
                               atol=1e-5)


def test_the_export_holds_each_encoder_variable_once(trained, tmp_path):
    model, _ = trained
    path = export.export_encoder(model, tmp_path, "once")
    stored = sum(math.prod(shape) for _, shape in tf.train.list_variables(
        os.fspath(path / "variables" / "variables")) if shape)
    assert stored == sum(math.prod(weight.shape) for weight in model.encoder.weights)


def _save_encoder_module(path, likelihood=None):
    """A SavedModel of the exported layout, with (or, as older exports, without) a likelihood."""
    module = tf.Module()
    spec = tf.TensorSpec([None, 16, 16, 1], tf.float32, name="images")
    module.serve = tf.function(lambda images: {"z_mean": tf.reduce_mean(images, [1, 2]),
                                               "z_log_var": tf.reduce_mean(images, [1, 2])},
                               input_signature=[spec])
    if likelihood is not None:
        module.likelihood = [tf.Variable(likelihood, trainable=False)]
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


def test_the_likelihood_travels_with_the_export_and_sets_the_pixel_check(trained, tmp_path):
    model, images = trained
    assert export.load_encoder(export.export_encoder(model, tmp_path, "tiny")).likelihood == (
        "bernoulli")
    older = export.load_encoder(_save_encoder_module(tmp_path / "older" / "1"))
    assert older.likelihood == "bernoulli"
    with pytest.raises(ValueError, match=r"images must hold pixels in \[0, 1\]"):
        older(images - 0.5)
    gaussian = export.load_encoder(_save_encoder_module(tmp_path / "gaussian" / "1", "gaussian"))
    assert gaussian(images - 0.5).shape == (len(images), 1)
    _save_encoder_module(tmp_path / "unknown" / "1", "poisson")
    with pytest.raises(ValueError, match=r"saves the likelihood 'poisson', not one of"):
        export.load_encoder(tmp_path / "unknown")
