"""Zoo cards: generated from the committed reference records, byte for byte."""

import filecmp
import shutil

import pytest

from bvae_tf import profiles, results, zoo
from bvae_tf.reports import cards

ZOO_DIR = cards.default_zoo_dir()


def test_the_committed_cards_are_what_the_command_writes(tmp_path):
    copy = tmp_path / "zoo"
    shutil.copytree(ZOO_DIR, copy)
    for path in copy.glob("*.md"):
        path.unlink()
    written = cards.write_cards(copy)
    assert sorted(path.name for path in written) == sorted(
        [f"{name}.md" for name in zoo.NAMES] + ["README.md", "objectives.md"])
    for path in written:
        assert filecmp.cmp(path, ZOO_DIR / path.name, shallow=False), (
            f"zoo/{path.name} differs from what `bvae-tf zoo cards` writes: run it and commit")


def _record(entry, beta, seed, fraction=None, metric=0.5, early_stopped=True):
    study = zoo.entry(entry).dataset
    metrics = {"svm_accuracy": metric} if study == "mnist" else {"beta_vae": metric,
                                                                  "mig": metric / 4}
    return {"schema_version": results.SCHEMA_VERSION, "study": study,
            "trial_name": results.trial_name(entry, beta, seed, fraction), "entry": entry,
            "beta": beta, "seed": seed, "fraction": fraction, "epochs": 40, "best_epoch": 34,
            "config": {**profiles.get_profile("paper").settings(study).to_config(),
                       "precision": "mixed_bfloat16" if seed else "float32",
                       "jit_compile": seed == 1},
            "early_stopped": early_stopped, "training_s": 600.0, "metrics": metrics,
            "code": {"commit": "4e7f04b" + 33 * "0", "dirty": False},
            "machine": {"cpu": "Test CPU", "cores": 2, "platform": "test"},
            "losses": {"validation": {"reconstruction_loss": 30.0, "kl_loss": 12.0,
                                      "loss": 42.0}}}


def test_a_card_holds_each_run_the_spread_and_the_command(tmp_path):
    for seed, metric in ((0, 0.6), (1, 0.8)):
        results.write_record(tmp_path, _record("fc", 4.0, seed, metric=metric))
    cards.write_cards(tmp_path)
    text = (tmp_path / "fc.md").read_text()
    assert "| 4 | 0 | 40 | 34 | yes | float32 | 0.600 | 0.150 | 30.0 | 12.0 | 10 min |" in text
    assert "| 4 | 1 | 40 | 34 | yes | mixed_bfloat16 + XLA | 0.800 |" in text
    assert "`bvae-tf zoo run --only fc-beta4.0-seed1`" in text
    assert "![fc Figure 1](images/fc-figure1.png)" in text
    assert (tmp_path / "images" / "fc-figure1.png").stat().st_size > 10_000
    assert "| fc | 4 | 2 | 0.700 ± 0.141 |" in text  # mean ± std, ddof 1
    assert "14,202,516" in text and "encoder 4096 -> 1200 -> 1200 -> 10" in text
    assert "No reference run has finished yet" in (tmp_path / "conv.md").read_text()
    assert "| [fc](fc.md) | shapes | 2 |" in (tmp_path / "README.md").read_text()


def test_collect_takes_only_references(tmp_path):
    runs = tmp_path / "runs"
    results.write_record(runs, _record("mnist_fc", 4.0, 0, 0.3))
    results.write_record(runs, _record("mnist_fc", 1.0, 0, 0.1, early_stopped=False))
    other_profile = _record("mnist_fc", 0.0, 0, 0.1)
    other_profile["config"]["profile"] = "quick"
    results.write_record(runs, other_profile)
    before_bit_exact_resume = {**_record("mnist_fc", 0.0, 0, 0.3), "code": None}
    results.write_record(runs, before_bit_exact_resume)
    dirty = _record("mnist_fc", 1.0, 0, 0.3)
    dirty["code"]["dirty"] = True
    results.write_record(runs, dirty)
    tiny = _record("mnist_conv", 1.0, 0, 0.3)  # a custom profile named "paper"
    tiny["config"]["max_epochs"] = 2
    results.write_record(runs, tiny)
    no_machine = _record("mnist_conv", 4.0, 0, 0.3)
    del no_machine["machine"]
    results.write_record(runs, no_machine)
    assert "max_epochs differ" in cards.reference_problem(tiny)
    assert cards.collect(runs, tmp_path / "zoo") == ["mnist_fc-frac0.3-beta4.0-seed0"]
    assert [record["trial_name"] for record in cards.reference_records(tmp_path / "zoo")] == [
        "mnist_fc-frac0.3-beta4.0-seed0"]
    assert not (tmp_path / "saved_models").exists()  # not a served trial
    cards.write_cards(tmp_path / "zoo")
    text = (tmp_path / "zoo" / "mnist_fc.md").read_text()
    assert "| 0.3 | 4 | 0 | 40 | 34 | yes | float32 | 0.500 |" in text
    assert "`bvae-tf zoo run --only mnist_fc-frac0.3-beta4.0-seed0`" in text
    assert "![mnist_fc Figure 2](images/mnist_fc-figure2.png)" in text


@pytest.mark.parametrize("name", zoo.NAMES)
def test_the_architecture_line_matches_the_built_model(name):
    lines = cards.architecture_text(zoo.entry(name))
    entry = zoo.entry(name)
    assert lines[0].endswith(f"{entry.latent_dim} (+ {entry.latent_dim} log variances)")
    assert str(entry.layers["decoder_units"][0]) in lines[1]


def test_collect_serves_the_encoders_of_the_served_trials(tmp_path):
    from bvae_tf import export

    runs = tmp_path / "runs"
    name = "mnist_fc-frac0.1-beta4.0-seed0"
    assert name in cards.SERVED
    model = zoo.build("mnist_fc", 4.0, seed=0, precision="float32", jit_compile=False)
    encoder = export.export_encoder(model, runs / "saved_models" / "mnist_fc", name)
    results.write_record(runs, {**_record("mnist_fc", 4.0, 0, 0.1),
                                "encoder_path": "saved_models/mnist_fc/" + name + "/1"})
    cards.collect(runs, tmp_path / "zoo")
    served = tmp_path / "saved_models" / "mnist_fc" / name / "1"
    assert (served / "saved_model.pb").read_bytes() == (encoder / "saved_model.pb").read_bytes()
    config = (tmp_path / "saved_models" / "models.config").read_text()
    assert f"name: '{name}'" in config and f"base_path: '/models/mnist_fc/{name}'" in config


def test_collect_refuses_a_record_whose_model_is_another_entry(tmp_path):
    runs = tmp_path / "runs"
    model = zoo.build("mnist_fc", precision="float32", jit_compile=False)
    path = runs / "models" / "mnist" / "mnist_conv-frac0.3-beta4.0-seed0" / "model.keras"
    path.parent.mkdir(parents=True)
    model.save(path)
    forged = {**_record("mnist_conv", 4.0, 0, 0.3),
              "model_path": "models/mnist/mnist_conv-frac0.3-beta4.0-seed0/model.keras"}
    results.write_record(runs, forged)
    assert "is not a mnist_conv (architecture" in cards.model_problem(forged, runs)
    assert cards.collect(runs, tmp_path / "zoo") == []
    honest = {**forged, "entry": "mnist_fc", "trial_name": "mnist_fc-frac0.3-beta4.0-seed0"}
    assert cards.model_problem(honest, runs) is None
