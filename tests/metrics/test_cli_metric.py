"""`bvae-tf metric`: an exported encoder scored from the command line."""

import json

import numpy as np
import pytest

from bvae_tf import cli, export, metrics, recalibrated_export
from bvae_tf.data import catalog, views
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
    assert written["data"] == "shapes"
    assert set(written["scores"]) == {"mig"} | {f"mig.{name}" for name in
                                                ("shape", "pos_x", "pos_y", "scale", "rotation")}
    assert 0.0 <= written["scores"]["mig"] <= 1.0
    assert f"{written['scores']['mig']:.4f}" in printed.splitlines()[0]


def test_unknown_metric_is_an_error(encoder_path, capsys):
    status = cli.main(["metric", "--encoder", str(encoder_path), "--metrics", "mig,betavae"])
    assert status == 2
    assert "Unknown metric names ['betavae']" in capsys.readouterr().err


def test_metric_command_scores_a_dsprites_file_by_factor_name(dsprites_file, encoder_path,
                                                              tmp_path, capsys):
    out = tmp_path / "scores.json"
    status = cli.main(["metric", "--encoder", str(encoder_path), "--metrics", "mig,beta_vae",
                       "--data", str(dsprites_file[0]), "--fixed-factor", "shape",
                       "--json", str(out)])
    assert status == 0
    written = json.loads(out.read_text())
    assert written["data"] == str(dsprites_file[0]) and written["fixed_factor"] == "shape"
    names = ("shape", "scale", "orientation", "posX", "posY")
    assert {f"mig.{name}" for name in names} <= set(written["scores"])
    assert "mig.posX" in capsys.readouterr().out


def test_metric_command_says_where_to_get_a_missing_file(tmp_path, encoder_path, monkeypatch,
                                                         capsys):
    monkeypatch.delenv("BVAE_TF_DSPRITES", raising=False)
    status = cli.main(["metric", "--encoder", str(encoder_path), "--metrics", "mig",
                       "--data", "dsprites", "--cache-dir", str(tmp_path)])
    assert status == 2
    error = capsys.readouterr().err
    assert str(tmp_path / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz") in error
    assert "BVAE_TF_DSPRITES" in error and "7da33b31b13a06f4b04a70402ce90c2e" in error


def test_an_unknown_fixed_factor_is_refused_before_any_metric(dsprites_file, encoder_path,
                                                               capsys):
    status = cli.main(["metric", "--encoder", str(encoder_path), "--metrics", "mig,beta_vae",
                       "--data", str(dsprites_file[0]), "--fixed-factor", "color"])
    assert status == 2
    captured = capsys.readouterr()
    assert "`--fixed-factor` must be a factor name in ['shape', 'scale'" in captured.err
    assert "computing" not in captured.err


def test_metric_command_scores_colour_images_of_a_3dshapes_file(shapes3d_file, tmp_path,
                                                                 capsys):
    model = BetaVAE(architecture="fc", image_shape=(64, 64, 3), latent_dim=3,
                    encoder_units=(8,), decoder_units=(8,), seed=0)
    colour_encoder = export.export_encoder(model, tmp_path / "saved", "colour")
    status = cli.main(["metric", "--encoder", str(colour_encoder), "--metrics", "sap",
                       "--data", str(shapes3d_file[0])])
    assert status == 0
    printed = capsys.readouterr().out
    assert all(f"sap.{name}" in printed for name in ("floor_hue", "object_hue", "orientation"))


def _listing(folder):
    return {path: (path.stat().st_size, path.stat().st_mtime_ns) for path in folder.rglob("*")}


def test_recalibrate_bn_scores_the_encoder_recalibrated_in_memory(dsprites_file, encoder_path,
                                                                  tmp_path, capsys):
    before, out = _listing(encoder_path.parent), tmp_path / "scores.json"
    status = cli.main(["metric", "--encoder", str(encoder_path), "--metrics", "mig",
                       "--data", str(dsprites_file[0]), "--seed", "2", "--recalibrate-bn",
                       "--recalibration-samples", "150", "--json", str(out)])
    assert status == 0
    captured, written = capsys.readouterr(), json.loads(out.read_text())
    assert "on 150 training images" in captured.err
    assert captured.out.startswith("mig.recalibrated ")
    assert written["recalibrate_bn"] is True and written["recalibration_images"] == 150
    data = catalog.load_ground_truth(dsprites_file[0])
    images, _ = recalibrated_export.training_images(data, seed=2, samples=150)
    recalibrated = recalibrated_export.recalibrate_exported(export.load_encoder(encoder_path),
                                                            images)
    expected = metrics.compute(("mig",), data, recalibrated, 2)
    assert written["scores"] == {f"{key}.recalibrated": value for key, value in expected.items()}
    assert _listing(encoder_path.parent) == before  # nothing written beside the encoder


def test_recalibration_samples_without_recalibrate_bn_is_refused(encoder_path, capsys):
    status = cli.main(["metric", "--encoder", str(encoder_path), "--metrics", "mig",
                       "--recalibration-samples", "10"])
    assert status == 2
    assert "add --recalibrate-bn, or drop it" in capsys.readouterr().err


def test_recalibrate_bn_on_an_old_export_says_how_to_get_a_new_one(dsprites_file, tmp_path,
                                                                   monkeypatch, capsys):
    monkeypatch.setattr(export, "_add_batch_norm_access", lambda *args: None)  # as before
    model = BetaVAE(architecture="fc", image_shape=(64, 64, 1), latent_dim=3,
                    encoder_units=(8,), decoder_units=(8,), seed=0)
    old = export.export_encoder(model, tmp_path / "saved", "old")
    status = cli.main(["metric", "--encoder", str(old), "--metrics", "mig", "--data",
                       str(dsprites_file[0]), "--recalibrate-bn"])
    assert status == 2
    error = capsys.readouterr().err
    assert "no 'batch_norm_inputs' signature" in error and "export it again" in error


def test_recalibrate_bn_on_shapes_uses_the_training_split_of_the_seed(
        shapes_data, shapes_cache_dir, encoder_path, tmp_path):
    out = tmp_path / "scores.json"
    status = cli.main(["metric", "--encoder", str(encoder_path), "--metrics", "mig",
                       "--seed", "1", "--cache-dir", str(shapes_cache_dir), "--recalibrate-bn",
                       "--recalibration-samples", "500", "--json", str(out)])
    assert status == 0
    train = shapes_data.with_split_seed(1).train
    images = views.unpack(train.packed[:500])[..., None].astype(np.float32)
    recalibrated = recalibrated_export.recalibrate_exported(export.load_encoder(encoder_path),
                                                            images)
    expected = metrics.compute(("mig",), shapes_data, recalibrated, 1)
    scores = json.loads(out.read_text())["scores"]
    assert scores.keys() == {f"{key}.recalibrated" for key in expected}
    np.testing.assert_allclose([scores[f"{key}.recalibrated"] for key in expected],
                               list(expected.values()), atol=1e-6)
