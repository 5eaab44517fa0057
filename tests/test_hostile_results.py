"""Property tests (hypothesis) of the results layout against hostile numbers and paths."""

import json
import os
import pathlib

import helpers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bvae_tf import results

FINITE = st.floats(min_value=0.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None, database=None)
@given(first=FINITE, second=FINITE, fractions=st.tuples(FINITE, FINITE) | st.none())
def test_distinct_numbers_give_distinct_trial_names_without_separators(first, second,
                                                                        fractions):
    """Issue 13, item 1: names are injective in beta and fraction, and stay one path part."""
    fraction_a, fraction_b = fractions or (None, None)
    name_a = results.trial_name("conv", first, 0, fraction_a)
    name_b = results.trial_name("conv", second, 0, fraction_b)
    assert (name_a == name_b) == (first == second and fraction_a == fraction_b)
    for name in (name_a, name_b):
        assert os.sep not in name and "/" not in name and "\\" not in name
        assert pathlib.PurePath(name).name == name and name not in (".", "..")


PARTS = st.sampled_from(["..", ".", "models", "a", "", "/", "x/..", "../.."])


@settings(max_examples=300, deadline=None, database=None)
@given(parts=st.lists(PARTS, min_size=1, max_size=6))
def test_resolve_inside_never_returns_a_path_outside(parts):
    """Issue 13, security note: whatever a record holds, the joined path stays inside."""
    root = pathlib.Path("/results/dir")
    relative = "/".join(parts)
    try:
        joined = results.resolve_inside(root, relative)
    except ValueError as error:
        assert "results directory" in str(error)
        return
    assert os.path.commonpath([root, os.path.normpath(joined)]) == str(root)


FORGED = "../../../../escape/pwned"


def test_a_record_named_to_climb_out_is_never_written(tmp_path):
    record = {"study": "mnist", "trial_name": FORGED, "entry": "mnist_fc", "beta": 1.0,
              "seed": 0, "early_stopped": True}
    with pytest.raises(ValueError, match="is not a plain name"):
        results.write_record(tmp_path / "a" / "b" / "c" / "d" / "results", record)
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


def test_zoo_collect_refuses_a_forged_trial_name_before_writing(tmp_path):
    from bvae_tf.reports import cards

    runs, zoo_dir = tmp_path / "runs", tmp_path / "deep" / "er" / "zoo"
    forged = runs / "records" / "mnist" / "forged.json"
    forged.parent.mkdir(parents=True)
    forged.write_text(json.dumps({
        "study": "mnist", "trial_name": FORGED, "entry": "mnist_fc", "beta": 1.0, "seed": 0,
        "early_stopped": True, "config": {"profile": "paper"},
        "code": {"commit": "0" * 40, "dirty": False}}))
    with pytest.raises(ValueError, match=f"Invalid record {forged}"):
        cards.collect(runs, zoo_dir)
    assert not zoo_dir.exists() and not (tmp_path / "escape").exists()


def test_an_export_named_to_climb_out_is_refused(tmp_path):
    from bvae_tf import export

    with pytest.raises(ValueError, match="name '../x' is not a plain name"):
        export.export_encoder(helpers.tiny_model("fc"), tmp_path / "models", "../x")
    assert not any(tmp_path.iterdir())


def test_a_record_copied_under_another_name_is_not_another_seed(tmp_path):
    record = {"study": "shapes", "trial_name": "fc-beta4.0-seed0", "entry": "fc", "beta": 4.0,
              "seed": 0, "metrics": {"beta_vae": 0.7}}
    path = results.write_record(tmp_path, record)
    copy = path.with_name("fc-beta4.0-seed1.json")
    copy.write_text(path.read_text())
    with pytest.raises(ValueError, match=f"Invalid record {copy}: it holds trial "
                                         "'fc-beta4.0-seed0'"):
        results.read_records(tmp_path)


@pytest.mark.parametrize("in_the_way", ["saved_models", "records", "models"])
def test_a_file_in_the_way_stops_a_trial_before_it_trains(tmp_path, in_the_way, monkeypatch):
    from bvae_tf import profiles, training, trial

    monkeypatch.setattr(training, "fit", _never)
    (tmp_path / in_the_way).write_text("not a folder")
    with pytest.raises(ValueError, match=f"{tmp_path / in_the_way} is a file, not a folder"):
        trial.run_trial(trial.TrialSpec("mnist_fc", 1.0, 0, 0.1), profiles.TrialSettings(),
                        tmp_path, data=object())


def test_a_results_path_too_long_for_the_export_stops_a_trial_before_it_trains(tmp_path,
                                                                                 monkeypatch):
    from bvae_tf import profiles, training, trial

    monkeypatch.setattr(training, "fit", _never)
    deep = tmp_path.joinpath(*["d" * 200] * 19)
    deep = deep / ("e" * (3950 - len(str(deep)) - 1))  # a 3,950-character --results
    with pytest.raises(ValueError, match="choose a shorter results path"):
        trial.run_trial(trial.TrialSpec("mnist_fc", 1.0, 0, 0.1), profiles.TrialSettings(),
                        deep, data=object())
    assert not (tmp_path / ("d" * 200)).exists()


def _never(*args, **kwargs):
    raise AssertionError("training started")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
VALID = {"study": "mnist", "trial_name": "mnist_fc-frac0.1-beta1.0-seed0", "entry": "mnist_fc",
         "beta": 1.0, "seed": 0, "fraction": 0.1, "epochs": 3, "best_epoch": 2,
         "metrics": {"svm_accuracy": 0.9},
         "losses": {"train": {"loss": 1.0}, "validation": {"loss": 2.0}}}


@settings(max_examples=150, deadline=None, database=None)
@given(key=st.sampled_from(sorted(VALID)), value=JSON)
def test_a_record_with_any_json_in_a_field_reads_or_is_refused_naming_its_file(key, value):
    import tempfile

    from bvae_tf.reports import tables

    with tempfile.TemporaryDirectory() as directory:
        path = results.record_path(directory, "mnist", VALID["trial_name"])
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({**VALID, key: value}))
        try:
            records = results.read_records(directory)
        except ValueError as error:
            assert str(path) in str(error)
            return
        rows = results.records_table(records)  # every reader works on what was accepted
        tables.markdown_table(tables.summarize(rows, "mnist"), "mnist")


@settings(max_examples=150, deadline=None, database=None)
@given(value=JSON | st.dictionaries(st.text(max_size=8), JSON, max_size=3))
def test_a_record_with_any_options_reads_or_is_refused_naming_its_file(value):
    import tempfile

    from bvae_tf.reports import figures, tables

    with tempfile.TemporaryDirectory() as directory:
        path = results.record_path(directory, "mnist", VALID["trial_name"])
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({**VALID, "options": value}))
        try:
            records = results.read_records(directory)
        except ValueError as error:
            assert str(path) in str(error) and "options" in str(error)
            return
        rows = results.records_table(records)  # every reader works on what was accepted
        summary = tables.summarize([{**row, "study": "shapes"} for row in rows], "shapes")
        tables.markdown_table(summary, "shapes")
        assert figures.figure_hyperparameters(summary, pathlib.Path(directory) / "f.png") is None


@settings(max_examples=100, deadline=None, database=None)
@given(value=JSON)
def test_a_config_json_of_any_shape_reads_or_is_refused_naming_it(value):
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = pathlib.Path(directory) / results.CONFIG_FILE
        path.write_text(json.dumps(value))
        for call in (lambda: results.read_config(directory),
                     lambda: results.check_config(directory, {"profile": {"name": "x"}})):
            try:
                call()
            except ValueError as error:
                assert str(path) in str(error)


@settings(max_examples=100, deadline=None, database=None)
@given(value=JSON)
def test_a_speed_cache_of_any_shape_is_measured_again_or_used(value):
    import tempfile

    from bvae_tf import speed

    config = {"architecture": "fc", "image_shape": (8, 8, 1), "latent_dim": 2,
              "encoder_units": (4,), "decoder_units": (4,)}
    with tempfile.TemporaryDirectory() as directory:
        path = speed.cache_path(directory)
        path.parent.mkdir(parents=True)
        key = speed.cache_key(config, 8, speed.candidates("float32", "auto"))
        path.write_text(json.dumps({key: value}))
        saved = {name: os.environ.pop(name, None)  # conftest pins both: they would win
                 for name in (speed.PRECISION_ENV, speed.JIT_COMPILE_ENV)}
        try:
            chosen = speed.resolve(config, 8, "float32", "auto", cache_dir=directory,
                                   measure=lambda *args: {("float32", False): 1.0,
                                                          ("float32", True): 2.0})
        finally:
            os.environ.update({name: value for name, value in saved.items() if value})
        assert chosen in (("float32", False), ("float32", True))


def test_a_sweep_with_a_file_in_the_way_stops_before_its_first_trial(tmp_path, capsys):
    from bvae_tf import cli

    (tmp_path / "saved_models").write_text("not a folder")
    code = cli.main(["sweep", "--profile", "quick", "--study", "mnist", "--results",
                     str(tmp_path), "--quiet"])
    assert code == 2
    error = capsys.readouterr().err
    assert f"{tmp_path / 'saved_models'} is a file, not a folder" in error
    assert "Traceback" not in error and not (tmp_path / "records").exists()
