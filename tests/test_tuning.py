"""Tests of bvae_tf.tuning: grid sweeps with keras-tuner, resume, failures and errors.

The fast tests replace the trial runner (`bvae_tf.trial.run_trial`) by a stub that writes a
record, so they check the sweep machinery alone; the slow tests train real tiny models, in
subprocesses for the chief/worker and SIGKILL cases.
"""

import json
import os
import pathlib
import socket
import time

import keras_tuner
import pytest
from processes import cli_command, finish, kill_once_exists, start

from bvae_tf import cli, inputs, profiles, results, trial, tuning

DATA = object()  # what the stubbed loaders return


def small_profile(**changes):
    fields = {"name": "test", "shapes_entries": ("fc",), "shapes_betas": (0.0, 4.0),
              "shapes_seeds": (0, 1), "max_epochs": 1}
    return profiles.Profile(**{**fields, **changes})


def stub_record(entry, beta, seed, fraction=None, study="shapes"):
    name = results.trial_name(entry, beta, seed, fraction)
    return {"study": study, "trial_name": name, "entry": entry, "beta": beta, "seed": seed,
            "fraction": fraction, "config": {"max_epochs": 1},
            "losses": {"validation": {"reconstruction_loss": 100.0 - 10 * beta + seed,
                                      "loss": 1000.0 + beta, "kl_loss": 5.0}},
            "metrics": {"beta_vae": 0.5}}


@pytest.fixture
def experiment(monkeypatch):
    """Stubs the trial runner and the data; `experiment.calls` lists (entry, beta, seed)."""
    calls = []
    failures = {}

    def run_trial(spec, settings, results_dir, data=None, *, split_seed=0, worker=None,
                  verbose=0):
        assert data is DATA and isinstance(settings, profiles.TrialSettings)
        key = (spec.entry, spec.beta, spec.seed) + ((spec.fraction,) if spec.fraction else ()
                                                     ) + tuple(spec.options.items())
        calls.append(key)
        run_trial.settings.append(settings)
        if key in failures:
            raise failures[key]
        record = stub_record(spec.entry, spec.beta, spec.seed, spec.fraction, spec.study)
        record.update(worker=worker, config={"profile": settings.profile},
                      trial_name=spec.name, **({"options": spec.options} if spec.options else {}))
        results.write_record(results_dir, record)
        return record

    monkeypatch.setattr(trial, "run_trial", run_trial)
    monkeypatch.setattr(inputs, "load_data", lambda *args, **kwargs: DATA)
    run_trial.calls, run_trial.failures, run_trial.settings = calls, failures, []
    return run_trial


def trial_files(results_dir, project="shapes"):
    """(status, values) of every keras-tuner trial of a project, sorted by values."""
    found = []
    for path in (pathlib.Path(results_dir) / "tuner" / project).glob("trial_*/trial.json"):
        state = json.loads(path.read_text())
        found.append((state["status"], state["hyperparameters"]["values"], state["score"]))
    return sorted(found, key=lambda item: (item[1]["entry"], item[1]["seed"], item[1]["beta"]))


def test_local_sweep_runs_every_trial_once_and_a_rerun_runs_nothing(tmp_path, experiment):
    profile = small_profile(shapes_entries=("fc", "conv"))
    summary = tuning.run_sweep(profile, "shapes", tmp_path, verbose=0)
    assert summary == {"total": 8, "completed": 8, "missing": []}
    assert experiment.calls[:4] == [("fc", 0.0, 0), ("fc", 4.0, 0), ("fc", 0.0, 1),
                                    ("fc", 4.0, 1)]
    assert experiment.calls[4:] == [("conv", 0.0, 0), ("conv", 4.0, 0), ("conv", 0.0, 1),
                                    ("conv", 4.0, 1)]
    record = results.load_record(results.record_path(tmp_path, "shapes", "fc-beta4.0-seed1"))
    assert record["worker"]["tuner_id"] == "tuner0"
    assert record["config"] == {"profile": "test"}
    trials = trial_files(tmp_path)
    assert [status for status, _, _ in trials] == ["COMPLETED"] * 8  # one project per study
    # The objective is the validation reconstruction loss, not the total loss.
    assert {score for _, _, score in trials} == {100.0, 101.0, 60.0, 61.0}
    assert tuning.run_sweep(profile, "shapes", tmp_path, verbose=0)["completed"] == 8
    assert len(experiment.calls) == 8


def test_a_trial_interrupted_while_running_is_rerun_once(tmp_path, experiment):
    experiment.failures[("fc", 4.0, 0)] = KeyboardInterrupt()  # not caught, like a kill
    with pytest.raises(KeyboardInterrupt):
        tuning.run_sweep(small_profile(), "shapes", tmp_path, verbose=0)
    oracle_state = json.loads((tmp_path / "tuner" / "shapes" / "oracle.json").read_text())
    assert list(oracle_state["ongoing_trials"].values()) == ["0001"]  # saved as RUNNING
    experiment.failures.clear()
    summary = tuning.run_sweep(small_profile(), "shapes", tmp_path, verbose=0)
    assert summary["missing"] == []
    assert experiment.calls == [("fc", 0.0, 0), ("fc", 4.0, 0), ("fc", 4.0, 0), ("fc", 0.0, 1),
                                ("fc", 4.0, 1)]
    assert [(status, values) for status, values, _ in trial_files(tmp_path)] == [
        ("COMPLETED", {"entry": "fc", "seed": seed, "beta": beta})
        for seed in (0, 1) for beta in (0.0, 4.0)]


def test_a_sweep_over_an_entrys_own_hyperparameter_runs_each_value_and_resumes(tmp_path,
                                                                                experiment):
    profile = small_profile(shapes_betas=(1.0,))
    params = {"tc_weight": [1, 2.5]}
    experiment.failures[("fc_beta_tcvae", 1.0, 1, ("tc_weight", 2.5))] = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        tuning.run_sweep(profile, "shapes", tmp_path, entries=["fc_beta_tcvae"], params=params,
                         verbose=0)
    experiment.failures.clear()
    summary = tuning.run_sweep(profile, "shapes", tmp_path, entries=["fc_beta_tcvae"],
                               params=params, verbose=0)
    names = [f"fc_beta_tcvae-tc_weight{weight}-beta1.0-seed{seed}"
             for seed in (0, 1) for weight in (1.0, 2.5)]
    assert summary == {"total": 4, "completed": 4, "missing": []}
    assert [record["trial_name"] for record in results.read_records(tmp_path)] == sorted(names)
    assert experiment.calls == [("fc_beta_tcvae", 1.0, seed, ("tc_weight", weight))
                                for seed, weight in ((0, 1.0), (0, 2.5), (1, 1.0), (1, 2.5),
                                                     (1, 2.5))]  # the interrupted one, once
    record = results.load_record(results.record_path(tmp_path, "shapes", names[1]))
    assert record["options"] == {"tc_weight": 2.5}
    rows = results.records_table(results.read_records(tmp_path))
    assert [row["option.tc_weight"] for row in rows] == [1.0, 1.0, 2.5, 2.5]
    assert tuning.run_sweep(profile, "shapes", tmp_path, entries=["fc_beta_tcvae"],
                            params=params, verbose=0)["completed"] == 4
    assert len(experiment.calls) == 5


def test_a_hyperparameter_an_entry_does_not_take_is_refused_before_anything(tmp_path,
                                                                            experiment):
    with pytest.raises(ValueError, match=r"'fc_beta_tcvae' \(BetaTCVAE\) takes no hyperparameter "
                       r"lambda_od: its own are tc_weight \(default 5.0\), dataset_size"):
        tuning.run_sweep(small_profile(), "shapes", tmp_path, entries=["fc_beta_tcvae"],
                         params={"lambda_od": [1.0]})
    with pytest.raises(ValueError, match=r"'fc' \(BetaVAE\) .* none besides beta \(--betas\)"):
        tuning.run_sweep(small_profile(), "shapes", tmp_path, params={"tc_weight": [1.0]})
    with pytest.raises(ValueError, match=r"capacity_steps must be a whole number >= 1"):
        tuning.run_sweep(small_profile(), "shapes", tmp_path, entries=["fc_annealed_vae"],
                         params={"capacity_steps": [10.5]})
    with pytest.raises(ValueError, match=r"Repeated values of tc_weight"):
        tuning.run_sweep(small_profile(), "shapes", tmp_path, entries=["fc_beta_tcvae"],
                         params={"tc_weight": [1, 1.0]})
    assert experiment.calls == [] and list(tmp_path.iterdir()) == []


def test_cli_sweeps_a_hyperparameter(tmp_path, experiment, capsys):
    out = tmp_path / "run"
    code = cli.main(["sweep", "--entries", "fc_annealed_vae", "--param", "capacity_steps=10,20",
                     "--betas", "4", "--seeds", "0", "--results", str(out), "--quiet"])
    assert code == 0 and experiment.calls == [
        ("fc_annealed_vae", 4.0, 0, ("capacity_steps", steps)) for steps in (10, 20)]
    assert "2 of 2 trials of the shapes sweep" in capsys.readouterr().out
    assert cli.main(["sweep", "--entries", "fc_dip_vae_i", "--param", "tc_weight=1",
                     "--results", str(tmp_path / "other"), "--quiet"]) == 2
    assert "its own are lambda_od (default 10.0), lambda_d" in capsys.readouterr().err
    for param, message in (("tc_weight", "no values of tc_weight"),
                           ("tc_weight=x", "--param tc_weight takes float values")):
        assert cli.main(["sweep", "--entries", "fc_beta_tcvae", "--param", param,
                         "--results", str(tmp_path / "other"), "--quiet"]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def test_keras_tuner_state_cut_short_by_a_kill_is_rebuilt(tmp_path, experiment, capsys):
    tuning.run_sweep(small_profile(), "shapes", tmp_path, verbose=0)
    trial_json = tmp_path / "tuner" / "shapes" / "trial_0001" / "trial.json"
    trial_json.write_text(trial_json.read_text()[:25])  # keras-tuner writes it in place
    summary = tuning.run_sweep(small_profile(), "shapes", tmp_path, verbose=0)
    assert summary["completed"] == 4 and len(experiment.calls) == 4
    assert "cannot be reloaded" in capsys.readouterr().err


def test_a_failed_trial_is_reported_and_retried_by_a_rerun(tmp_path, experiment, capsys):
    experiment.failures[("fc", 4.0, 0)] = RuntimeError("diverged")
    summary = tuning.run_sweep(small_profile(), "shapes", tmp_path, verbose=0)
    assert summary == {"total": 4, "completed": 3, "missing": ["fc-beta4.0-seed0"]}
    assert "trial fc-beta4.0-seed0 failed" in capsys.readouterr().err
    experiment.failures.clear()
    assert tuning.run_sweep(small_profile(), "shapes", tmp_path, verbose=0)["missing"] == []
    assert experiment.calls[-1] == ("fc", 4.0, 0) and len(experiment.calls) == 5


def test_mnist_sweep_enumerates_fractions_and_passes_the_profiles_settings(tmp_path,
                                                                          experiment):
    # Every setting differs from TrialSettings' defaults, so a dropped one fails the test.
    profile = small_profile(mnist_entries=("mnist_conv",), mnist_betas=(1.0,),
                            mnist_fractions=(0.1, 0.3), mnist_seeds=(2,), mnist_max_epochs=3,
                            batch_size=50, jit_compile=True)
    summary = tuning.run_sweep(profile, "mnist", tmp_path, verbose=0)
    assert summary["completed"] == 2
    assert experiment.calls == [("mnist_conv", 1.0, 2, 0.1), ("mnist_conv", 1.0, 2, 0.3)]
    defaults = profiles.TrialSettings()
    for settings in experiment.settings:
        assert (settings.max_epochs, settings.batch_size, settings.jit_compile,
                settings.profile) == (3, 50, True, "test")
        assert (defaults.max_epochs, defaults.batch_size, defaults.jit_compile) != (3, 50, True)
    assert [row["fraction"] for row in results.records_table(results.read_records(tmp_path))
            ] == [0.1, 0.3]


def test_bad_arguments_are_refused_before_any_trial(tmp_path, experiment):
    with pytest.raises(ValueError, match=r"Unknown zoo entries \['vgg'\].*'conv_denoising'"):
        tuning.run_sweep(small_profile(), "shapes", tmp_path, entries=["vgg"])
    with pytest.raises(ValueError, match="Empty grid: no seeds"):
        tuning.run_sweep(small_profile(), "shapes", tmp_path, seeds=[])
    with pytest.raises(ValueError, match="Unknown role 'boss'"):
        tuning.run_sweep(small_profile(), "shapes", tmp_path, role="boss")
    with pytest.raises(ValueError, match="HOST:PORT"):
        tuning.run_sweep(small_profile(), "shapes", tmp_path, role="worker", oracle="8000")
    for betas in ([float("nan")], [float("inf")], [-1.0]):
        with pytest.raises(ValueError, match=r"Bad betas .*--betas"):
            tuning.run_sweep(small_profile(), "shapes", tmp_path, betas=betas)
    with pytest.raises(ValueError, match=r"Bad seeds \[-1\]"):
        tuning.run_sweep(small_profile(), "shapes", tmp_path, seeds=[-1])
    with pytest.raises(ValueError, match="Bad betas"):
        tuning.run_sweep(small_profile(shapes_betas=(-1.0,)), "shapes", tmp_path)
    for timeout in (float("nan"), -5, 0):
        with pytest.raises(ValueError, match="connect_timeout"):
            tuning.run_sweep(small_profile(), "shapes", tmp_path, connect_timeout=timeout)
    assert experiment.calls == [] and not (tmp_path / "config.json").exists()


def test_a_results_directory_refuses_a_different_configuration_not_a_new_grid(tmp_path, experiment):
    tuning.run_sweep(small_profile(), "shapes", tmp_path, verbose=0)
    with pytest.raises(ValueError, match=r"profile.max_epochs.*new results directory"):
        tuning.run_sweep(small_profile(max_epochs=2), "shapes", tmp_path, verbose=0)
    # The same configuration may narrow or extend the grid: only new points run.
    summary = tuning.run_sweep(small_profile(), "shapes", tmp_path, betas=[1.0, 4.0], verbose=0)
    assert summary == {"total": 4, "completed": 4, "missing": []}
    assert experiment.calls[4:] == [("fc", 1.0, 0), ("fc", 1.0, 1)]


def test_a_corrupted_record_stops_the_sweep(tmp_path, experiment):
    tuning.run_sweep(small_profile(), "shapes", tmp_path, verbose=0)
    path = results.record_path(tmp_path, "shapes", "fc-beta0.0-seed1")
    path.write_text(path.read_text()[:30])
    with pytest.raises(ValueError, match="Corrupted record .*fc-beta0.0-seed1.json"):
        tuning.run_sweep(small_profile(), "shapes", tmp_path, verbose=0)
    assert len(experiment.calls) == 4


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_worker_without_chief_times_out_with_a_message(tmp_path, capsys):
    began = time.perf_counter()
    code = cli.main(["sweep", "--role", "worker", "--oracle", f"127.0.0.1:{free_port()}",
                     "--connect-timeout", "2", "--results", str(tmp_path), "--quiet"])
    elapsed = time.perf_counter() - began
    assert code == 3 and elapsed < 30
    error = capsys.readouterr().err
    assert "No keras-tuner chief answered at 127.0.0.1:" in error and "within 2 s" in error


def test_hypermodel_declares_the_grid_and_builds_the_zoo_model():
    grid = {"entries": ("mnist_fc",), "betas": (0.0, 4.0), "seeds": (3,), "fractions": (0.1,)}
    hypermodel = tuning.StudyHyperModel("mnist", grid)
    hp = hypermodel.declare_hyperparameters(keras_tuner.HyperParameters())
    assert [hp_.name for hp_ in hp.space] == ["entry", "seed", "fraction", "beta"]
    assert [list(hp_.values) for hp_ in hp.space] == [["mnist_fc"], [3], [0.1], [0.0, 4.0]]
    hp.values["beta"] = 4.0
    model = hypermodel.build(hp)
    assert float(model.beta) == 4.0 and model.latent_dim == 16
    assert hypermodel.spec(hp.values).name == "mnist_fc-frac0.1-beta4.0-seed3"


def test_cli_sweep_and_results(tmp_path, experiment, capsys):
    out = tmp_path / "run"
    code = cli.main(["sweep", "--profile", "quick", "--entries", "conv", "--betas", "0,4",
                     "--seeds", "3", "--results", str(out), "--quiet"])
    assert code == 0 and experiment.calls == [("conv", 0.0, 3), ("conv", 4.0, 3)]
    assert "2 of 2 trials of the shapes sweep" in capsys.readouterr().out
    assert cli.main(["results", "--results", str(out), "--csv", str(tmp_path / "t.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["study", "entry", "fraction", "beta", "seed"]
    assert [line.split()[:4] for line in lines[1:3]] == [["shapes", "conv", "-", "0"],
                                                         ["shapes", "conv", "-", "4"]]
    assert len((tmp_path / "t.csv").read_text().splitlines()) == 3


def test_two_local_sweeps_on_one_directory_are_refused(tmp_path, experiment):
    from bvae_tf import distributed

    with distributed.sweep_lock(tmp_path, "shapes", "local"):
        with pytest.raises(distributed.SweepBusyError, match=r"already run by pid \d+"):
            tuning.run_sweep(small_profile(), "shapes", tmp_path, verbose=0)
        with distributed.sweep_lock(tmp_path, "mnist", "local"):  # another study: fine
            pass
    assert experiment.calls == []
    assert tuning.run_sweep(small_profile(), "shapes", tmp_path, verbose=0)["completed"] == 4


TINY_PROFILE = """
from bvae_tf.profiles import Profile

PROFILE = Profile(
    name="tiny", shapes_entries=("fc",), shapes_betas=(0.0, 4.0), shapes_seeds=(0, 1),
    max_epochs=1, train_fraction=0.002, validation_size=200, batch_size=100, jit_compile=False,
    metrics=("beta_vae", "mig"),
    metric_options={"beta_vae": {"num_train": 300, "num_validation": 100, "num_test": 100},
                    "mig": {"num_train": 300}},
)
"""
TINY_NAMES = ["fc-beta0.0-seed0", "fc-beta0.0-seed1", "fc-beta4.0-seed0", "fc-beta4.0-seed1"]


@pytest.fixture
def tiny_profile(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text(TINY_PROFILE)
    return path


def sweep_command(profile_path, out, cache_dir, *extra):
    return cli_command("sweep", "--profile", profile_path, "--results", out, "--cache-dir",
                       cache_dir, "--quiet", *extra)


@pytest.mark.slow
def test_tiny_grid_end_to_end(tmp_path, tiny_profile, shapes_data, shapes_cache_dir, capsys):
    from bvae_tf import export

    out = tmp_path / "results"
    summary = tuning.run_sweep(str(tiny_profile), "shapes", out, cache_dir=shapes_cache_dir,
                               verbose=0)
    assert summary == {"total": 4, "completed": 4, "missing": []}
    records = results.read_records(out)
    assert [record["trial_name"] for record in records] == TINY_NAMES
    for record in records:
        assert (record["epochs"], record["best_epoch"], record["fraction"]) == (1, 1, None)
        assert 0.0 <= record["metrics"]["beta_vae"] <= 1.0 and 0.0 <= record["metrics"]["mig"]
        assert list(record["scoring_s"]) == ["beta_vae", "mig"]  # the profile's order
        assert all(seconds > 0 for seconds in record["scoring_s"].values())
        assert record["losses"]["validation"]["reconstruction_loss"] > 0
        assert record["config"]["train_fraction"] == 0.002 and record["versions"]["keras"]
        assert (out / record["model_path"]).is_file()
        assert (out / "models" / "shapes" / record["trial_name"] / "history.json").is_file()
    profile = profiles.get_profile(str(tiny_profile))
    tuner = tuning.StudyTuner(
        tuning.StudyHyperModel("shapes", profile.grid("shapes")), out,
        profile.settings("shapes"), directory=str(out / "tuner"), project_name="shapes")
    (best_model,) = tuner.get_best_models(1)  # lowest validation reconstruction loss
    best = min(records, key=lambda record: record["losses"]["validation"]["reconstruction_loss"])
    assert float(best_model.beta) == best["beta"]
    encoder = export.load_encoder(out / records[0]["encoder_path"])
    images = shapes_data.validation.images[:5, :, :, None].astype("float32")
    assert encoder(images).shape == (5, 10)
    capsys.readouterr()
    assert cli.main(["results", "--results", str(out), "--csv", str(tmp_path / "table.csv")]
                    ) == 0
    assert len(capsys.readouterr().out.splitlines()) == 6  # header, 4 rows, "wrote ..."
    assert len((tmp_path / "table.csv").read_text().splitlines()) == 5
    assert cli.main(["report", "--results", str(out), "--trials", TINY_NAMES[2]]) == 0
    report = (out / "report" / "report.md").read_text(encoding="utf-8")
    assert "Profile **tiny**" in report and "| trials | 4 finished of 4 planned | 520 |" in report
    assert (out / "report" / "figure1.png").stat().st_size > 10_000
    assert (out / "report" / f"traversals-{TINY_NAMES[2]}.png").is_file()


@pytest.mark.slow
def test_a_tiny_sweep_of_tc_weight_trains_each_value_and_is_drawn_against_it(
        tmp_path, tiny_profile, shapes_data, shapes_cache_dir):
    import keras

    out = tmp_path / "results"
    summary = tuning.run_sweep(str(tiny_profile), "shapes", out, entries=["fc_beta_tcvae"],
                               params={"tc_weight": [1, 10]}, betas=[1.0], seeds=[0],
                               cache_dir=shapes_cache_dir, verbose=0)
    names = ["fc_beta_tcvae-tc_weight1.0-beta1.0-seed0",
             "fc_beta_tcvae-tc_weight10.0-beta1.0-seed0"]
    assert summary == {"total": 2, "completed": 2, "missing": []}
    records = results.read_records(out)
    assert [record["trial_name"] for record in records] == names
    assert [record["options"] for record in records] == [{"tc_weight": 1.0},
                                                         {"tc_weight": 10.0}]
    assert keras.saving.load_model(out / records[1]["model_path"]).tc_weight == 10.0
    assert 0.0 <= records[1]["metrics"]["mig"]
    assert cli.main(["report", "--results", str(out), "--trials", names[1]]) == 0
    report = (out / "report" / "report.md").read_text(encoding="utf-8")
    assert (out / "report" / "figure_hyperparameters.png").stat().st_size > 10_000
    assert "(figure_hyperparameters.png)" in report


def assert_each_trial_ran_once(out):
    records = results.read_records(out)
    assert [record["trial_name"] for record in records] == TINY_NAMES
    trials = trial_files(out)
    assert [(status, values) for status, values, _ in trials] == [
        ("COMPLETED", {"entry": "fc", "seed": seed, "beta": beta})
        for seed in (0, 1) for beta in (0.0, 4.0)]
    return records


@pytest.mark.slow
def test_a_chief_and_two_workers_share_the_grid_and_a_killed_workers_trial_reruns_once(
        tmp_path, tiny_profile, shapes_data, shapes_cache_dir):
    out, address = tmp_path / "results", f"127.0.0.1:{free_port()}"
    chief = start(sweep_command(tiny_profile, out, shapes_cache_dir, "--role", "chief",
                                "--oracle", address))
    worker = sweep_command(tiny_profile, out, shapes_cache_dir, "--role", "worker", "--oracle",
                           address)
    killed = start(worker, KERASTUNER_TUNER_ID="tuner-a")
    kill_once_exists(killed, out / "models" / "shapes" / TINY_NAMES[0] / "logs")
    workers = [start(worker, KERASTUNER_TUNER_ID=name) for name in ("tuner-a", "tuner-b")]
    outputs = [finish(process) for process in [*workers, chief]]
    assert [process.returncode for process in [*workers, chief]] == [0, 0, 0], outputs
    assert "4 of 4 trials" in outputs[2]
    records = assert_each_trial_ran_once(out)
    by_name = {record["trial_name"]: record["worker"] for record in records}
    # The restarted worker got its trial back from the chief and ran it once.
    assert (by_name[TINY_NAMES[0]]["tuner_id"], by_name[TINY_NAMES[0]]["pid"]) == (
        "tuner-a", workers[0].pid)
    assert {worker["pid"] for worker in by_name.values()} == {process.pid for process in workers}


@pytest.mark.slow
def test_a_sweep_killed_mid_trial_resumes_and_runs_each_trial_once(tmp_path, tiny_profile,
                                                                    shapes_data,
                                                                    shapes_cache_dir):
    out = tmp_path / "results"
    command = sweep_command(tiny_profile, out, shapes_cache_dir)
    first = start(command)
    kill_once_exists(first, out / "models" / "shapes" / TINY_NAMES[2] / "logs")  # 2nd trial
    assert [record["trial_name"] for record in results.read_records(out)] == [TINY_NAMES[0]]
    second = start(command)
    output = finish(second)
    assert second.returncode == 0, output
    records = assert_each_trial_ran_once(out)
    assert {record["trial_name"]: record["worker"]["pid"] for record in records} == {
        name: first.pid if name == TINY_NAMES[0] else second.pid for name in TINY_NAMES}


@pytest.mark.slow
def test_a_worker_without_an_id_killed_mid_trial_does_not_hang_the_sweep(
        tmp_path, tiny_profile, shapes_data, shapes_cache_dir):
    out, address = tmp_path / "results", f"127.0.0.1:{free_port()}"
    lease = ("--lease", "8")
    chief = start(sweep_command(tiny_profile, out, shapes_cache_dir, "--role", "chief",
                                "--oracle", address, *lease))
    worker = sweep_command(tiny_profile, out, shapes_cache_dir, "--role", "worker", "--oracle",
                           address, *lease)
    assert "KERASTUNER_TUNER_ID" not in os.environ
    killed = start(worker)  # no stable id: named after its host and process
    kill_once_exists(killed, out / "models" / "shapes" / TINY_NAMES[0] / "logs")
    survivor = start(worker)
    outputs = [finish(process, timeout=600) for process in (survivor, chief)]
    assert [survivor.returncode, chief.returncode] == [0, 0], outputs
    assert "has not been heard from" in outputs[1] and "4 of 4 trials" in outputs[1]
    records = assert_each_trial_ran_once(out)
    assert {record["worker"]["pid"] for record in records} == {survivor.pid}
