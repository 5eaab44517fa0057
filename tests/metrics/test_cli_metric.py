"""`bvae-tf metric`: an exported encoder scored from the command line."""

import json

import pytest

from bvae_tf import cli, export
from bvae_tf.models import BetaVAE


@pytest.fixture(scope="module")
def encoder_path(tmp_path_factory):
    model = BetaVAE(architecture="fc", image_shape=(64, 64, 1), latent_dim=3,
                    encoder_units=(8,), decoder_units=(8,), seed=0)
    return export.export_encoder(model, tmp_path_factory.mktemp("saved"), "tiny")


def test_metric_command_prints_and_writes_json(shapes_data, shapes_cache_dir, encoder_path,
                                               tmp_path, capsys):
    out = tmp_path / "scores.json"
    status = cli.main(["metric", "--encoder", str(encoder_path.parent), "--metrics", "mig",
                       "--seed", "3", "--cache-dir", str(shapes_cache_dir), "--json", str(out)])
    assert status == 0
    printed = capsys.readouterr().out
    written = json.loads(out.read_text())
    assert written["encoder"] == str(encoder_path)
    assert written["metrics"] == ["mig"] and written["seed"] == 3
    assert set(written["scores"]) == {"mig"} | {f"mig.factor_{j}" for j in range(5)}
    assert 0.0 <= written["scores"]["mig"] <= 1.0
    assert f"{written['scores']['mig']:.4f}" in printed.splitlines()[0]


def test_unknown_metric_is_an_error(encoder_path, capsys):
    status = cli.main(["metric", "--encoder", str(encoder_path), "--metrics", "mig,betavae"])
    assert status == 2
    assert "Unknown metric names ['betavae']" in capsys.readouterr().err
