"""Tests of bvae_tf.results: atomic records, the configuration check and the flat table."""

import csv
import json
import os
import stat

import pytest

from bvae_tf import results


def make_record(entry="fc", beta=1.0, seed=0, study="shapes", fraction=None, metric=0.5):
    name = results.trial_name(entry, beta, seed, fraction)
    return {
        "schema_version": results.SCHEMA_VERSION,
        "study": study, "trial_name": name, "entry": entry, "beta": beta, "seed": seed,
        "fraction": fraction, "epochs": 3, "best_epoch": 2,
        "losses": {"train": {"loss": 10.0, "reconstruction_loss": 8.0, "kl_loss": 2.0},
                   "validation": {"loss": 11.0, "reconstruction_loss": 9.0, "kl_loss": 2.0}},
        "metrics": {"beta_vae": metric, "mig": metric / 10},
    }  # fmt: skip


def test_trial_names_follow_the_results_layout():
    assert results.trial_name("conv_denoising", 4, 0) == "conv_denoising-beta4.0-seed0"
    assert results.trial_name("fc", 0.6, 3) == "fc-beta0.6-seed3"
    assert results.trial_name("fc", -0.0, 3) == "fc-beta0.0-seed3"
    assert results.trial_name("mnist_fc", 1.0, 0, 0.1) == "mnist_fc-frac0.1-beta1.0-seed0"


def test_betas_and_fractions_closer_than_a_millionth_get_their_own_trials():
    """Issue 13, item 1: 1e-7 and 2e-7 shared `fc-beta0.0-seed0`, so one was never trained."""
    assert results.trial_name("fc", 1e-7, 0) == "fc-beta1e-07-seed0"
    assert results.trial_name("fc", 2e-7, 0) == "fc-beta2e-07-seed0"
    assert results.trial_name("fc", 0.6000000000000001, 3) == "fc-beta0.6000000000000001-seed3"
    assert (results.trial_name("mnist_fc", 1.0, 0, 0.1000001)
            == "mnist_fc-frac0.1000001-beta1.0-seed0")


@pytest.mark.parametrize("argument", ["beta", "fraction"])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_betas_and_fractions_name_no_trial(argument, value):
    values = {"beta": 1.0, "fraction": 0.1, argument: value}
    with pytest.raises(ValueError, match=f"{argument} must be a finite number"):
        results.trial_name("mnist_fc", values["beta"], 0, values["fraction"])


def test_write_then_read_round_trips_and_leaves_no_temporary_file(tmp_path):
    written = [make_record(beta=4.0), make_record(beta=0.0, seed=1),
               make_record("mnist_fc", 1.0, 0, "mnist", 0.1)]
    paths = [results.write_record(tmp_path, record) for record in written]
    assert paths[0] == tmp_path / "records" / "shapes" / "fc-beta4.0-seed0.json"
    assert paths[2] == tmp_path / "records" / "mnist" / "mnist_fc-frac0.1-beta1.0-seed0.json"
    read = results.read_records(tmp_path)
    assert [record["trial_name"] for record in read] == [
        "fc-beta0.0-seed1", "fc-beta4.0-seed0", "mnist_fc-frac0.1-beta1.0-seed0"]
    assert read[1] == written[0]
    assert [r["trial_name"] for r in results.read_records(tmp_path, study="mnist")] == [
        "mnist_fc-frac0.1-beta1.0-seed0"]
    assert results.record_exists(tmp_path, "shapes", "fc-beta4.0-seed0")
    assert not results.record_exists(tmp_path, "shapes", "fc-beta4.0-seed1")
    leftovers = [path.name for path in tmp_path.rglob("*") if path.name.endswith(".tmp")]
    assert leftovers == []


def test_a_failed_write_keeps_the_previous_record(tmp_path, monkeypatch):
    results.write_record(tmp_path, make_record(metric=0.25))

    def broken_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        results.write_record(tmp_path, make_record(metric=0.75))
    monkeypatch.undo()
    (record,) = results.read_records(tmp_path)
    assert record["metrics"]["beta_vae"] == 0.25
    assert list((tmp_path / "records" / "shapes").iterdir()) == [
        tmp_path / "records" / "shapes" / "fc-beta1.0-seed0.json"]


def test_a_record_without_required_keys_is_refused(tmp_path):
    record = make_record()
    del record["seed"]
    with pytest.raises(ValueError, match="seed"):
        results.write_record(tmp_path, record)
    with pytest.raises(ValueError, match="Unknown study"):
        results.write_record(tmp_path, {**make_record(), "study": "cifar"})


def test_a_truncated_record_is_reported_with_its_path(tmp_path):
    path = results.write_record(tmp_path, make_record())
    path.write_text(path.read_text()[:40])
    with pytest.raises(ValueError, match=r"Corrupted record .*fc-beta1.0-seed0.json"):
        results.read_records(tmp_path)
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="Invalid record"):
        results.read_records(tmp_path)


def test_temporary_files_of_an_interrupted_write_are_ignored(tmp_path):
    results.write_record(tmp_path, make_record())
    (tmp_path / "records" / "shapes" / ".fc-beta4.0-seed0.json.abc.tmp").write_text('{"stu')
    assert len(results.read_records(tmp_path)) == 1


def test_reading_a_missing_directory_says_so_and_a_fresh_one_is_empty(tmp_path):
    with pytest.raises(FileNotFoundError, match="bvae-tf sweep"):
        results.read_records(tmp_path / "nowhere")
    assert results.read_records(tmp_path) == []
    with pytest.raises(ValueError, match="Unknown study"):
        results.read_records(tmp_path, study="cifar")


def test_check_config_writes_once_then_names_the_differing_keys(tmp_path):
    config = {"profile": {"name": "quick", "max_epochs": 2, "betas": [0.0, 1.0]}, "seed": 0}
    path = results.check_config(tmp_path, config)
    assert json.loads(path.read_text()) == config
    assert results.check_config(tmp_path, json.loads(json.dumps(config))) == path
    changed = {"profile": {"name": "quick", "max_epochs": 5, "betas": [0.0, 1.0]}, "seed": 0}
    with pytest.raises(ValueError, match=r"\['profile.max_epochs'\].*new results directory"):
        results.check_config(tmp_path, changed)
    with pytest.raises(ValueError, match="extra"):
        results.check_config(tmp_path, {**config, "extra": 1})
    assert json.loads(path.read_text()) == config


def test_read_config_round_trips_and_names_a_file_without_profile(tmp_path):
    assert results.read_config(tmp_path) == {}
    config = results.sweep_config({"name": "quick", "max_epochs": 2}, 3)
    results.check_config(tmp_path, config)
    assert results.read_config(tmp_path) == config
    (tmp_path / "config.json").write_text('{"name": "quick"}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"config\.json has no 'profile' object.*Delete it"):
        results.read_config(tmp_path)


def test_records_table_is_flat_sorted_and_has_every_metric():
    records = [make_record(beta=4.0, metric=0.9), make_record(beta=0.0, metric=0.4),
               make_record("mnist_fc", 1.0, 0, "mnist", 0.1)]
    records[2]["metrics"] = {"svm_accuracy": 0.8}
    rows = results.records_table(records)
    assert [(row["study"], row["beta"]) for row in rows] == [
        ("mnist", 1.0), ("shapes", 0.0), ("shapes", 4.0)]
    assert rows[2]["beta_vae"] == 0.9 and rows[2]["mig"] == pytest.approx(0.09)
    assert rows[2]["val_reconstruction_loss"] == 9.0 and rows[2]["train_kl_loss"] == 2.0
    assert rows[0]["svm_accuracy"] == 0.8 and rows[0]["fraction"] == 0.1
    assert list(rows[1])[:7] == ["study", "entry", "fraction", "beta", "seed", "epochs",
                                 "best_epoch"]


def test_records_table_names_the_indexed_factor_scores_of_older_shapes_records():
    old, new = make_record(beta=1.0), make_record(beta=2.0)
    old["metrics"] = {"mig.factor_1": 0.3, "sap.factor_4.recalibrated": 0.2, "mig": 0.1}
    new["metrics"] = {"mig.pos_x": 0.4, "mig": 0.2}
    rows = results.records_table([old, new])
    assert {key: rows[0][key] for key in ("mig.pos_x", "sap.rotation.recalibrated", "mig")} \
        == {"mig.pos_x": 0.3, "sap.rotation.recalibrated": 0.2, "mig": 0.1}
    assert rows[1]["mig.pos_x"] == 0.4 and "mig.factor_1" not in rows[0]


def test_the_renaming_uses_the_shapes_factor_names():
    from bvae_tf.data import render

    assert results._SHAPES_FACTOR_NAMES == render.FACTOR_NAMES


def test_csv_and_text_table_hold_every_row_and_column(tmp_path):
    records = [make_record(beta=4.0), make_record("mnist_fc", 1.0, 0, "mnist", 0.1)]
    records[1]["metrics"] = {"svm_accuracy": 0.8}
    rows = results.records_table(records)
    path = results.write_csv(rows, tmp_path / "out" / "table.csv")
    with path.open() as file:
        read = list(csv.DictReader(file))
    assert [(row["study"], row["beta"]) for row in read] == [("mnist", "1.0"), ("shapes", "4.0")]
    assert read[0]["svm_accuracy"] == "0.8" and read[0]["beta_vae"] == ""
    assert float(read[1]["beta_vae"]) == 0.5
    lines = results.format_table(rows).splitlines()
    assert len(lines) == 3 and len({len(line) for line in lines}) == 1
    assert lines[0].split()[:4] == ["study", "entry", "fraction", "beta"]
    assert results.format_table([]) == "(no finished trials)"


def test_version_one_records_are_read_and_newer_ones_refused(tmp_path):
    old = make_record(beta=4.0)
    del old["schema_version"]
    old["metrics"] = {"dci_disentanglement": 0.4, "dci_completeness": 0.3, "mig": 0.1}
    results.write_record(tmp_path, old)
    (read,) = results.read_records(tmp_path)
    assert read["schema_version"] == results.SCHEMA_VERSION
    assert read["metrics"] == {"dci": 0.4, "dci.completeness": 0.3, "mig": 0.1}
    results.write_record(tmp_path, {**make_record(beta=4.0), "schema_version": 99})
    with pytest.raises(ValueError, match=r"schema version 99; this bvae_tf reads versions 1 to"):
        results.read_records(tmp_path)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002], ids=oct)
def test_records_and_config_are_created_as_open_would_under_the_umask(tmp_path, umask):
    """Issue 13, item 9: mkstemp made them 0600, unreadable to the others sharing the folder."""
    previous = os.umask(umask)
    try:
        record = results.write_record(tmp_path, make_record())
        config = results.check_config(tmp_path, {"profile": {"name": "quick"}})
    finally:
        os.umask(previous)
    for path in (record, config):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
    assert sorted(path.name for path in tmp_path.rglob("*.tmp")) == []


def test_resolve_inside_joins_relative_paths_and_refuses_escapes(tmp_path):
    joined = results.resolve_inside(tmp_path, "models/shapes/./fc-beta1.0-seed0/model.keras")
    assert joined == tmp_path / "models" / "shapes" / "fc-beta1.0-seed0" / "model.keras"
    assert results.resolve_inside(tmp_path, "models/../records/x.json") == (
        tmp_path / "records" / "x.json")
    cases = {"../secret/model.keras": "climbs out", "models/../../x": "climbs out",
             "..": "climbs out", "/etc/passwd": "is absolute", "": "not a path",
             None: "not a path"}
    for relative, reason in cases.items():
        with pytest.raises(ValueError, match=f"{reason}.*{tmp_path}.*fix or delete the record"):
            results.resolve_inside(tmp_path, relative)


@pytest.mark.parametrize("key", ["model_path", "encoder_path"])
@pytest.mark.parametrize("forged", ["../../outside/model.keras", "/tmp/elsewhere"])
def test_a_record_whose_paths_leave_the_directory_is_refused(tmp_path, key, forged):
    results.write_record(tmp_path, {**make_record(), key: "models/shapes/fc/model.keras"})
    assert len(results.read_records(tmp_path)) == 1
    path = results.write_record(tmp_path, {**make_record(), key: forged})
    with pytest.raises(ValueError, match=rf"Invalid record {path}: its {key} .*delete it"):
        results.read_records(tmp_path)
