"""The TF Serving model config lists every exported encoder under a folder."""

import numpy as np
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

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


def _model_server_config_class():
    """The fields of TF Serving's `ModelServerConfig` that `model_config` writes, as a class.

    TF Serving's own protos are not installed here; the text format parser is the same one
    it uses, so what parses here parses there.
    """
    file = descriptor_pb2.FileDescriptorProto(name="serving_config_test.proto",
                                              package="serving_test", syntax="proto3")
    string = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
    message = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
    optional = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
    repeated = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
    config = file.message_type.add(name="ModelConfig")
    for number, name in enumerate(("name", "base_path", "model_platform"), start=1):
        config.field.add(name=name, number=number, type=string, label=optional)
    listing = file.message_type.add(name="ModelConfigList")
    listing.field.add(name="config", number=1, type=message, label=repeated,
                      type_name=".serving_test.ModelConfig")
    server = file.message_type.add(name="ModelServerConfig")
    server.field.add(name="model_config_list", number=1, type=message, label=optional,
                     type_name=".serving_test.ModelConfigList")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(
        "serving_test.ModelServerConfig"))


def test_names_and_paths_with_quotes_backslashes_and_newlines_read_back_exactly(tmp_path):
    """Issue 13, security note: a quote in a folder name broke models.config."""
    names = ["it's", 'say "hi"', "back\\slash", "two\nlines", "ünïcode"]
    root = tmp_path / "root'with\\odd \"chars\""
    for index, name in enumerate(names):
        version = root / f"entry{index}" / name / "1"
        version.mkdir(parents=True)
        (version / "saved_model.pb").write_bytes(b"")
    path = serving.write_model_config(root, base_path="/models/it's")
    parsed = text_format.Parse(path.read_text(encoding="utf-8"), _model_server_config_class()())
    configs = {config.name: config.base_path for config in parsed.model_config_list.config}
    assert configs == {name: f"/models/it's/entry{index}/{name}"
                       for index, name in enumerate(names)}
    default = text_format.Parse(serving.model_config(root), _model_server_config_class()())
    assert default.model_config_list.config[0].base_path.startswith(str(root.resolve()))


def test_hidden_folders_hold_no_servables(tmp_path):
    for hidden in (".1-4242-abcdef01/saved_model/fc", ".trash/fc-beta1.0-seed0"):
        version = tmp_path / "entry" / hidden / "1"
        version.mkdir(parents=True)
        (version / "saved_model.pb").write_bytes(b"")
    (tmp_path / "entry" / "fc" / "1").mkdir(parents=True)
    (tmp_path / "entry" / "fc" / "1" / "saved_model.pb").write_bytes(b"")
    assert serving.find_servables(tmp_path) == [("fc", tmp_path / "entry" / "fc")]
