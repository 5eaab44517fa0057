"""The TF Serving model config lists every exported encoder under a folder."""

import numpy as np
import pytest

from bvae_tf import export, serving, zoo


@pytest.fixture(scope="module")
def encoders_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("saved_models")
    model = zoo.mnist_fc(beta=1.0, seed=0)
    for name in ("mnist_fc-beta0.0-seed0", "mnist_fc-beta1.0-seed0"):
        export.export_encoder(model, root / "mnist_fc", name, version=1)
    export.export_encoder(model, root / "mnist_fc", "mnist_fc-beta1.0-seed0", version=2)
    return root


def test_config_lists_each_servable_once_with_its_base_path(encoders_root):
    text = serving.model_config(encoders_root, base_path="/models")
    assert text.count("config {") == 2
    assert "base_path: '/models/mnist_fc/mnist_fc-beta0.0-seed0'" in text
    assert "base_path: '/models/mnist_fc/mnist_fc-beta1.0-seed0'" in text


def test_written_config_points_at_loadable_encoders(encoders_root):
    path = serving.write_model_config(encoders_root)
    text = path.read_text()
    base_paths = [line.split("'")[1] for line in text.splitlines() if "base_path" in line]
    images = np.zeros((2, 28, 28, 1), np.float32)
    for base_path in base_paths:
        codes = export.load_encoder(base_path)(images)
        assert codes.shape == (2, 16)


def test_duplicate_names_are_refused(encoders_root, tmp_path):
    model = zoo.mnist_fc(beta=1.0, seed=0)
    export.export_encoder(model, tmp_path / "a", "same", version=1)
    export.export_encoder(model, tmp_path / "b", "same", version=1)
    with pytest.raises(ValueError, match="unique names"):
        serving.model_config(tmp_path)


def test_missing_root_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="No folder of exported encoders"):
        serving.write_model_config(tmp_path / "nowhere")
