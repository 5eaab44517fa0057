"""Tests of `bvae_tf.reports`: a results directory written by hand, reported on.

Records are the report's input, so the tests write them (2 shapes entries x 2 betas x 2
seeds, MNIST with 2 training fractions) together with real, untrained saved models for the
fc and mnist_fc trials shown; the conv trials have no saved model and must be skipped.
"""

import csv
import dataclasses

import numpy as np
import pytest
from PIL import Image

from bvae_tf import cli, profiles, results
from bvae_tf.reports import summarize, write_report

SHAPES_ENTRIES = ("fc", "conv")
SHAPES_BETAS = (0.0, 4.0)
MNIST_FRACTIONS = (0.1, 0.3)
MNIST_BETAS = (0.0, 1.0)
SEEDS = (0, 1)
MODEL_TRIALS = ("fc-beta0.0-seed0", "fc-beta4.0-seed0",
                "mnist_fc-frac0.3-beta0.0-seed0", "mnist_fc-frac0.3-beta1.0-seed0")


def _record(study, entry, beta, seed, fraction, random_state):
    name = results.trial_name(entry, beta, seed, fraction)
    validation = {"loss": 100.0 + random_state.rand(),
                  "reconstruction_loss": 90.0 + 10 * random_state.rand(),
                  "kl_loss": 5.0 + random_state.rand()}
    if study == "shapes":
        metrics = {"beta_vae": 0.3 + 0.1 * beta + 0.1 * random_state.rand(),
                   "mig": 0.02 * beta + 0.05 * random_state.rand()}
    else:
        metrics = {"svm_accuracy": 0.8 - 0.1 * beta + 0.5 * fraction * random_state.rand()}
    return {"study": study, "trial_name": name, "entry": entry, "beta": beta, "seed": seed,
            "fraction": fraction, "config": {"max_epochs": 2, "train_fraction": 0.01},
            "epochs": int(random_state.randint(1, 3)), "best_epoch": 1,
            "losses": {"train": validation, "validation": validation}, "metrics": metrics,
            "model_path": f"models/{study}/{name}/model.keras"}


def _write_records(directory, studies=("shapes", "mnist")):
    random_state = np.random.RandomState(0)
    profile = profiles.Profile(name="test", shapes_entries=SHAPES_ENTRIES,
                               shapes_betas=SHAPES_BETAS, shapes_seeds=SEEDS, max_epochs=2,
                               train_fraction=0.01, mnist_entries=("mnist_fc",),
                               mnist_betas=MNIST_BETAS, mnist_fractions=MNIST_FRACTIONS,
                               mnist_seeds=SEEDS, mnist_max_epochs=2)
    results.check_config(directory, results.sweep_config(profile.to_config(), 0))
    records = []
    grids = {"shapes": [(entry, None) for entry in SHAPES_ENTRIES],
             "mnist": [("mnist_fc", fraction) for fraction in MNIST_FRACTIONS]}
    for study in studies:
        betas = SHAPES_BETAS if study == "shapes" else MNIST_BETAS
        for entry, fraction in grids[study]:
            for beta in betas:
                for seed in SEEDS:
                    records.append(_record(study, entry, beta, seed, fraction, random_state))
                    results.write_record(directory, records[-1])
    return records


def _save_models(directory):
    """Saves real untrained models: a tiny shapes BetaVAE and the zoo's mnist_fc."""
    from bvae_tf import zoo
    from bvae_tf.models import BetaVAE

    shapes_model = BetaVAE(architecture="fc", image_shape=(64, 64, 1), latent_dim=4,
                           encoder_units=(32,), decoder_units=(32,), seed=0)
    mnist_model = zoo.mnist_fc(latent_dim=3, seed=0)
    for name in MODEL_TRIALS:
        study = "mnist" if name.startswith("mnist") else "shapes"
        path = directory / "models" / study / name / "model.keras"
        path.parent.mkdir(parents=True)
        (mnist_model if study == "mnist" else shapes_model).save(path)


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("results")
    _write_records(directory)
    _save_models(directory)
    return directory


@pytest.fixture(scope="module")
def report(results_dir, shapes_cache_dir, shapes_data, mnist_npz, tmp_path_factory):
    del shapes_data  # builds the shapes cache in shapes_cache_dir
    return write_report(results_dir, shapes_cache_dir=shapes_cache_dir, mnist_path=mnist_npz,
                        zoo_dir=tmp_path_factory.mktemp("no_reference_runs"))


def _png_size(path):
    with Image.open(path) as image:
        image.load()
        return image.size


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_report_written_in_default_folder(report, results_dir):
    assert report == results_dir / "report" / "report.md"
    assert report.is_file()


def test_figures_decode_with_sensible_sizes(report):
    width, height = _png_size(report.parent / "figure1.png")
    assert width >= 800 and 500 <= height <= 1200  # 2 panels wide, 2 rows (score and MIG)
    width, height = _png_size(report.parent / "figure2.png")
    assert 600 <= width <= 1000 and 300 <= height <= 600  # 1 panel


@pytest.mark.parametrize("name", MODEL_TRIALS)
def test_reconstructions_and_traversals_of_saved_models(report, name):
    width, height = _png_size(report.parent / f"reconstructions-{name}.png")
    assert width > 2 * height > 0  # 2 rows of 10 images
    width, height = _png_size(report.parent / f"traversals-{name}.png")
    latent_dim = 3 if name.startswith("mnist") else 4
    assert width > height > 0 and height >= latent_dim * 60  # one row per latent, 9 columns


def test_trials_without_saved_model_are_skipped_and_said(report):
    text = report.read_text(encoding="utf-8")
    for name in ("conv-beta0.0-seed0", "conv-beta4.0-seed0"):
        assert f"{name}: no saved model" in text
        assert not (report.parent / f"traversals-{name}.png").exists()


def _expected_summary(records, keys, column):
    """numpy's mean and std over seeds of `metrics[column]` per group of `keys`."""
    groups = {}
    for record in records:
        key = tuple(record[name] for name in keys)
        groups.setdefault(key, []).append(record["metrics"][column])
    return {key: (np.mean(values), np.std(values, ddof=1), len(values))
            for key, values in groups.items()}


def test_summary_tables_equal_numpy_mean_and_std(report, results_dir):
    records = results.read_records(results_dir)
    for study, keys, column in (("shapes", ("entry", "beta"), "beta_vae"),
                                ("shapes", ("entry", "beta"), "mig"),
                                ("mnist", ("entry", "fraction", "beta"), "svm_accuracy")):
        own = [record for record in records if record["study"] == study]
        expected = _expected_summary(own, keys, column)
        rows = _read_csv(report.parent / f"{study}_summary.csv")
        assert len(rows) == len(expected)
        for row in rows:
            key = tuple(row[name] if name == "entry" else float(row[name]) for name in keys)
            mean, std, count = expected[key]
            assert int(row["seeds"]) == count == len(SEEDS)
            np.testing.assert_allclose(float(row[f"{column}_mean"]), mean, rtol=1e-12)
            # the profile's std_ddof (1, the authors'), named in the column
            np.testing.assert_allclose(float(row[f"{column}_std_ddof1"]), std, rtol=1e-12)
            assert std > 0 and f"{column}_std" not in row


def test_both_captions_state_the_standard_deviation_they_show(report):
    text = report.read_text(encoding="utf-8")
    assert text.count("Error bars: one standard deviation over seeds, ddof=1 (the sample") == 2
    assert text.count("summary (mean ± std over seeds, ddof=1)") == 2


def test_summarize_matches_numpy_on_table_rows(results_dir):
    records = results.read_records(results_dir, "shapes")
    summary = summarize(results.records_table(records), "shapes")
    line = summary[0]  # zoo order: fc first, then beta 0
    values = [r["losses"]["validation"]["reconstruction_loss"] for r in records
              if r["entry"] == "fc" and r["beta"] == 0.0]
    assert (line["entry"], line["beta"]) == ("fc", 0.0)
    assert line["val_reconstruction_loss_mean"] == pytest.approx(np.mean(values))
    assert line["val_reconstruction_loss_std_ddof1"] == pytest.approx(np.std(values, ddof=1))
    assert [line["entry"] for line in summary] == ["fc", "fc", "conv", "conv"]


def test_record_tables_hold_every_number(report, results_dir):
    records = results.read_records(results_dir, "mnist")
    rows = _read_csv(report.parent / "mnist.csv")
    assert len(rows) == len(records) == 8
    by_key = {(row["fraction"], row["beta"], row["seed"]): row for row in rows}
    for record in records:
        row = by_key[(str(record["fraction"]), str(record["beta"]), str(record["seed"]))]
        assert float(row["svm_accuracy"]) == record["metrics"]["svm_accuracy"]
        assert float(row["val_kl_loss"]) == record["losses"]["validation"]["kl_loss"]
        assert int(row["epochs"]) == record["epochs"]


def test_report_names_every_figure_and_holds_table_rows(report, results_dir):
    text = report.read_text(encoding="utf-8")
    for name in ("figure1.png", "figure2.png", *(f"{kind}-{trial}.png" for trial in
                 MODEL_TRIALS for kind in ("reconstructions", "traversals"))):
        assert f"]({name})" in text
    for name in ("shapes.csv", "mnist.csv", "shapes_summary.csv", "mnist_summary.csv"):
        assert f"[{name}]({name})" in text
    records = results.read_records(results_dir, "shapes")
    for (entry, beta), (mean, std, count) in _expected_summary(
            records, ("entry", "beta"), "beta_vae").items():
        assert f"| {entry} | {beta:g} | {count} | {mean:.3f} ± {std:.3f} |" in text
    assert "Profile **test**" in text
    assert "| trials | 8 finished of 8 planned | 520 |" in text
    assert "| epoch cap | 2 | none (early stopping alone) |" in text
    assert "| training data | 1% of the training split | 100% of the training split |" in text
    assert f"bvae-tf report --results {results_dir} --report-dir {report.parent}" in text


def test_regenerating_gives_identical_tables(report, results_dir, tmp_path):
    again = write_report(results_dir, tmp_path / "again", chosen=[], zoo_dir=tmp_path / "no_zoo")
    for name in ("shapes.csv", "mnist.csv", "shapes_summary.csv", "mnist_summary.csv"):
        assert (again.parent / name).read_bytes() == (report.parent / name).read_bytes()
    tables = [text.split("## Reconstructions")[0].split("## Figure 1")[1]
              for text in (report.read_text(), again.read_text())]
    assert tables[0] == tables[1]


def test_missing_study_is_skipped_and_said(tmp_path):
    _write_records(tmp_path, studies=("shapes",))
    report = write_report(tmp_path, tmp_path / "out", chosen=[])
    text = report.read_text(encoding="utf-8")
    assert "Figure 2 skipped: no mnist records" in text
    assert "No mnist records." in text
    assert not (report.parent / "figure2.png").exists()
    assert not (report.parent / "mnist.csv").exists()
    assert (report.parent / "figure1.png").is_file()


def test_study_without_its_metric_skips_its_figure(tmp_path):
    for record in _write_records(tmp_path, studies=("mnist",)):
        record["metrics"] = {}
        results.write_record(tmp_path, record)
    text = write_report(tmp_path, chosen=[]).read_text(encoding="utf-8")
    assert "Figure 2 skipped: the mnist records hold no svm_accuracy metric." in text
    assert not (tmp_path / "report" / "figure2.png").exists()
    assert (tmp_path / "report" / "mnist.csv").is_file()


def _write_hyperparameter_records(directory, weights=(1.0, 5.0)):
    """fc_beta_tcvae records of a `--param tc_weight=...` sweep: 2 betas x 2 seeds a weight."""
    random_state = np.random.RandomState(1)
    for weight in weights:
        for beta in SHAPES_BETAS:
            for seed in SEEDS:
                record = _record("shapes", "fc_beta_tcvae", beta, seed, None, random_state)
                record["metrics"]["mig"] += 0.05 * weight
                name = results.trial_name("fc_beta_tcvae", beta, seed, None,
                                          {"tc_weight": weight})
                record.update(trial_name=name, options={"tc_weight": weight},
                              model_path=f"models/shapes/{name}/model.keras")
                results.write_record(directory, record)


def test_a_hyperparameter_sweep_is_drawn_against_it_and_listed(tmp_path):
    _write_records(tmp_path, studies=("shapes",))
    _write_hyperparameter_records(tmp_path)
    report = write_report(tmp_path, chosen=[])
    text = report.read_text(encoding="utf-8")
    figure = report.parent / "figure_hyperparameters.png"
    assert _png_size(figure)[0] > 400 and "(figure_hyperparameters.png)" in text
    assert "- [figure_hyperparameters.png](figure_hyperparameters.png)" in text
    assert "error bars one standard deviation over seeds" in text
    assert "| fc_beta_tcvae | 5 | 4 | 2 |" in text  # entry, tc_weight, beta, seeds
    assert "| entry | tc_weight | beta | seeds |" in text and "| fc | - | 4 | 2 |" in text
    assert "| tc_weight (--param) | 1, 5 (2 values) | - |" in text  # what was run
    summary = _read_csv(report.parent / "shapes_summary.csv")
    means = {(line["entry"], line["option.tc_weight"], line["beta"]): float(line["mig_mean"])
             for line in summary}
    for beta in ("0.0", "4.0"):  # mig grew by 0.05 a unit of tc_weight
        assert means["fc_beta_tcvae", "5.0", beta] - means["fc_beta_tcvae", "1.0", beta] > 0.1
    assert (report.parent / "figure1.png").is_file()  # the plain entries, against beta
    for record in results.read_records(tmp_path):
        if "options" in record:
            results.record_path(tmp_path, "shapes", record["trial_name"]).unlink()
    text = write_report(tmp_path, chosen=[]).read_text(encoding="utf-8")
    assert not figure.exists() and "figure_hyperparameters" not in text
    assert "| entry | beta | seeds |" in text


def test_a_report_of_a_hyperparameter_sweep_alone_says_why_figure_1_is_skipped(tmp_path):
    _write_hyperparameter_records(tmp_path)
    text = write_report(tmp_path, chosen=[]).read_text(encoding="utf-8")
    assert "Figure 1 skipped: every shapes trial set an entry's own hyperparameter" in text
    assert (tmp_path / "report" / "figure_hyperparameters.png").is_file()
    assert not (tmp_path / "report" / "figure1.png").exists()


def test_missing_or_empty_results_dir_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match="No results directory at .*nowhere"):
        write_report(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="No finished trials in"):
        write_report(tmp_path)
    (tmp_path / "records" / "shapes").mkdir(parents=True)
    with pytest.raises(ValueError, match="No finished trials in"):
        write_report(tmp_path)


def test_chosen_trials_are_checked_before_writing(results_dir, tmp_path):
    with pytest.raises(ValueError, match="No record for the chosen trials.*fc-beta9.0"):
        write_report(results_dir, tmp_path / "out", chosen=["fc-beta9.0-seed0"])
    with pytest.raises(ValueError, match="No saved model .*conv-beta0.0-seed0"):
        write_report(results_dir, tmp_path / "out", chosen="conv-beta0.0-seed0")
    assert not (tmp_path / "out").exists()


def test_corrupted_config_raises_value_error(tmp_path):
    _write_records(tmp_path, studies=("mnist",))
    (tmp_path / "config.json").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="Corrupted .*config.json"):
        write_report(tmp_path, chosen=[])


def test_cli_report(tmp_path, capsys):
    _write_records(tmp_path, studies=("shapes",))  # no saved models: no images to draw
    assert cli.main(["report", "--results", str(tmp_path), "--report-dir", str(tmp_path / "r")]) == 0
    assert f"wrote {tmp_path / 'r' / 'report.md'}" in capsys.readouterr().out
    assert (tmp_path / "r" / "figure1.png").is_file()
    assert cli.main(["report", "--results", str(tmp_path / "nowhere")]) == 2
    assert "No results directory" in capsys.readouterr().err


def test_reference_runs_are_drawn_and_compared(report, results_dir, tmp_path,
                                               shapes_cache_dir, mnist_npz):
    zoo_dir = tmp_path / "zoo"
    own = [record for record in results.read_records(results_dir, "shapes")
           if record["entry"] == "fc"]
    for record in own:  # a reference at half the loss of this run's fc trials
        losses = {split: dict(values) for split, values in record["losses"].items()}
        losses["validation"]["reconstruction_loss"] /= 2
        results.write_record(zoo_dir, {**record, "losses": losses, "epochs": 70})
    compared = write_report(results_dir, tmp_path / "with", shapes_cache_dir=shapes_cache_dir,
                            mnist_path=mnist_npz, zoo_dir=zoo_dir)
    text = compared.read_text(encoding="utf-8")
    assert text.count("Black squares: the zoo's reference runs") == 1  # shapes only
    mean = np.mean([record["losses"]["validation"]["reconstruction_loss"] for record in own])
    assert f"fc {mean:.1f} against {mean / 2:.1f} (2.0x)" in text
    assert "conv " not in text.split("Black squares")[1].split("\n")[0]  # no conv reference
    without = (report.parent / "figure1.png").read_bytes()
    assert (compared.parent / "figure1.png").read_bytes() != without


def test_a_truncated_saved_model_stops_the_report_before_it_is_written(results_dir, tmp_path):
    import shutil

    copy = tmp_path / "results"
    shutil.copytree(results_dir, copy, ignore=shutil.ignore_patterns("report"))
    damaged = copy / "models" / "shapes" / MODEL_TRIALS[0] / "model.keras"
    damaged.write_bytes(damaged.read_bytes()[:2000])
    with pytest.raises(ValueError, match=rf"Damaged saved models: \['{damaged}"):
        write_report(copy, zoo_dir=tmp_path / "no_zoo")
    assert not (copy / "report").exists()  # nothing half written


def test_report_md_lists_where_a_profile_departs_from_the_authors():
    from bvae_tf.reports import markdown

    paper = profiles.get_profile("paper").to_config()
    quick = markdown.departures_text(profiles.get_profile("quick").to_config(), paper)
    assert "batch_norm_momentum = 0.99 (the authors: 0.999)" in quick
    assert "stops after 20 epochs without improvement, at most 10000 epochs" in quick
    assert markdown.departures_text(paper, paper).startswith("Follows the authors' choices")


def test_report_md_lists_every_cut_of_a_profile_from_the_paper_profile():
    from bvae_tf.reports import markdown

    paper = profiles.get_profile("paper")
    fields = {field.name for field in dataclasses.fields(paper)} - {"name", "note"}
    assert fields == set(markdown.PROFILE_LABELS)  # a new field must be labelled
    quick = profiles.get_profile("quick")
    cuts = markdown.cuts_text(quick.to_config(), paper.to_config())
    differing = [key for key in sorted(fields)
                 if getattr(quick, key) != getattr(paper, key) and key != "metric_options"]
    for key in differing:
        assert f"- {markdown.PROFILE_LABELS[key]}: " in cuts, key
    assert "- beta_vae samples: " in cuts and "num_train 35,001" in cuts
    assert "learning rate: 0.001 at every beta; the entry's (1e-3; 3e-5 at beta 0" in cuts
    assert markdown.cuts_text(paper.to_config(), paper.to_config()) == (
        "This run uses every setting of the paper profile.")


@pytest.mark.parametrize("epochs, label", [
    ([65.0], "reference: paper protocol, 65 epochs"),
    ([121.0, 221.0, 155.2], "reference: paper protocol, 121-221 epochs"),
    ([], "reference: paper protocol"),
])
def test_the_reference_legend_gives_the_epochs_of_the_reference_runs(epochs, label):
    from bvae_tf.reports import figures

    assert figures._reference_label([{"epochs_mean": value} for value in epochs]) == label


def test_a_report_dir_with_the_users_files_is_refused_and_left_as_it_was(tmp_path):
    _write_records(tmp_path / "results", studies=("mnist",))
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("shapes.csv", "shapes_summary.csv", "figure1.png"):
        (mine / name).write_text(f"the user's own {name}")
    with pytest.raises(ValueError, match="holds figure1.png, shapes.csv, shapes_summary.csv, "
                                         "which bvae-tf report did not write"):
        write_report(tmp_path / "results", mine, chosen=[])
    assert sorted(path.name for path in mine.iterdir()) == [
        "figure1.png", "shapes.csv", "shapes_summary.csv"]
    assert (mine / "shapes.csv").read_text() == "the user's own shapes.csv"


def test_a_report_replaces_and_deletes_only_what_it_wrote(tmp_path):
    records = _write_records(tmp_path / "results", studies=("shapes", "mnist"))
    out = tmp_path / "out"
    write_report(tmp_path / "results", out, chosen=[])
    (out / "notes.txt").write_text("mine")
    assert (out / "figure1.png").is_file()
    for record in records:  # the shapes records go: the next report drops its shapes files
        if record["study"] == "shapes":
            results.record_path(tmp_path / "results", "shapes", record["trial_name"]).unlink()
    write_report(tmp_path / "results", out, chosen=[])
    assert not (out / "figure1.png").exists() and (out / "figure2.png").is_file()
    assert (out / "notes.txt").read_text() == "mine"


def test_an_rgb_gaussian_models_samples_are_drawn_in_colour(tmp_path):
    from bvae_tf.models import BetaVAE
    from bvae_tf.reports import samples

    model = BetaVAE(image_shape=(8, 8, 3), latent_dim=2, encoder_units=(8,),
                    decoder_units=(8,), likelihood="gaussian", seed=0)
    images = np.random.default_rng(0).normal(size=(3, 8, 8, 3)).astype(np.float32)
    paths = [samples.plot_reconstructions(model, images, tmp_path / "reconstructions.png", "r"),
             samples.plot_traversals(model, images[0], np.arange(2.0), tmp_path / "t.png", "t")]
    for path in paths:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"), np.int16)
        assert np.abs(pixels[..., 0] - pixels[..., 1]).max() > 0  # not grey
