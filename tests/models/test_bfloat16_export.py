"""A mixed_bfloat16 model exports a float32 encoder that serves in a fresh process."""

import os
import subprocess
import sys

import helpers
import numpy as np
import pytest

from bvae_tf import export

FRESH_PROCESS = """
import sys
import numpy as np
import tensorflow as tf
path, images, out = sys.argv[1:]
serve = tf.saved_model.load(path).signatures["serving_default"]
inputs = {name: spec.dtype.name for name, spec in serve.structured_input_signature[1].items()}
outputs = {name: spec.dtype.name for name, spec in serve.structured_outputs.items()}
codes = serve(images=tf.constant(np.load(images)))
np.savez(out, z_mean=codes["z_mean"].numpy(), z_log_var=codes["z_log_var"].numpy(),
         dtypes=np.array([inputs["images"], outputs["z_mean"], outputs["z_log_var"]]))
assert not [name for name in sys.modules if name.startswith("bvae_tf")]
"""


# A fresh process imports TensorFlow: ~10 s of CPU each; conv with the slow tests.
@pytest.mark.parametrize("architecture", ["fc", pytest.param("conv", marks=pytest.mark.slow)])
def test_bfloat16_model_exports_a_float32_signature(architecture, tmp_path):
    model = helpers.tiny_model(architecture, seed=3, precision="mixed_bfloat16")
    images = helpers.binary_images(8, (16, 16, 1), seed=4)
    model.fit(images, batch_size=8, epochs=1, verbose=0)  # batch norm statistics move
    path = export.export_encoder(model, tmp_path / "models", "tiny")
    np.save(tmp_path / "images.npy", images)
    subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(path), str(tmp_path / "images.npy"),
         str(tmp_path / "codes.npz")],
        check=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    codes = np.load(tmp_path / "codes.npz")
    assert codes["dtypes"].tolist() == ["float32"] * 3
    assert codes["z_mean"].dtype == codes["z_log_var"].dtype == np.float32
    assert np.isfinite(codes["z_mean"]).all() and np.isfinite(codes["z_log_var"]).all()
    z_mean, z_log_var = model.distribution_parameters(images)
    np.testing.assert_allclose(codes["z_mean"], z_mean, atol=1e-5)
    np.testing.assert_allclose(codes["z_log_var"], z_log_var, atol=1e-5)
    loaded = export.load_encoder(path)  # the package's own TensorFlow-only loader
    np.testing.assert_allclose(loaded(images), z_mean, atol=1e-5)
