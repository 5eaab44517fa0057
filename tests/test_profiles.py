"""Tests of bvae_tf.profiles: the paper's grids, the quick budget and loading by name or path."""

import json

import pytest

from bvae_tf import metrics, profiles, results


def test_paper_profile_is_the_papers_protocol():
    profile = profiles.get_profile("paper")
    assert len(profile.shapes_betas) == 26
    assert profile.shapes_betas == tuple(round(0.2 * index, 1) for index in range(26))
    assert profile.shapes_betas[-1] == 5.0 and 0.6 in profile.shapes_betas
    assert profile.shapes_seeds == (0, 1, 2, 3, 4)
    assert profile.shapes_entries == ("fc", "conv", "fc_denoising", "conv_denoising")
    assert profile.max_epochs is None and profile.train_fraction == 1.0
    assert profile.validation_size == 40_000 and profile.batch_size == 1000
    assert profile.patience == 5 and "beta_vae" in profile.metrics
    assert profile.metric_options["beta_vae"] == {
        "num_train": 35_001, "num_validation": 7_500, "num_test": 7_500, "patience": 21,
        "max_epochs": None}
    assert len(profile.mnist_betas) == 41 and profile.mnist_betas[-1] == 4.0
    assert profile.mnist_betas[3] == 0.3
    assert profile.mnist_fractions == (0.1, 0.2, 0.3)
    assert profile.mnist_seeds == (0, 1, 2, 3, 4)
    assert profile.mnist_entries == ("mnist_fc", "mnist_conv")
    assert profile.mnist_max_epochs is None


def test_paper_profile_stops_the_beta_vae_classifier_by_the_authors_rule():
    options = profiles.get_profile("paper").metric_options["beta_vae"]
    assert metrics.PEYCHEV2017_STOPPING == {"patience": 21, "max_epochs": None}
    assert {key: options[key] for key in metrics.PEYCHEV2017_STOPPING} == (
        metrics.PEYCHEV2017_STOPPING)
    assert json.loads(json.dumps(profiles.get_profile("paper").to_config()))[
        "metric_options"]["beta_vae"]["max_epochs"] is None


def test_quick_profile_is_a_small_version_of_the_paper():
    quick, paper = profiles.get_profile("quick"), profiles.get_profile("paper")
    assert {0.0, 4.0} <= set(quick.shapes_betas) <= set(paper.shapes_betas)
    assert len(quick.shapes_seeds) >= 3  # a spread to beat (issue 21's acceptance)
    assert set(quick.shapes_entries) <= set(paper.shapes_entries)
    assert set(quick.mnist_entries) <= set(paper.mnist_entries)
    assert quick.note  # report.md says why it cuts what it cuts
    assert quick.max_epochs is not None and 0 < quick.train_fraction < 1
    for name, options in quick.metric_options.items():
        assert name in quick.metrics
        for key, value in options.items():
            assert value < paper.metric_options.get(name, {}).get(key, 10_000)
    assert set(quick.mnist_betas) <= set(paper.mnist_betas)
    assert set(quick.mnist_fractions) <= set(paper.mnist_fractions)


def test_grid_narrows_the_profile_and_validates():
    profile = profiles.get_profile("paper")
    grid = profile.grid("shapes", entries=["conv"], betas=[0.0, 4.0])
    assert grid == {"entries": ("conv",), "betas": (0.0, 4.0), "seeds": (0, 1, 2, 3, 4),
                    "fractions": (None,)}
    assert profile.grid("mnist", fractions=[0.1])["fractions"] == (0.1,)
    with pytest.raises(ValueError, match="Empty grid: no betas"):
        profile.grid("shapes", betas=[])
    with pytest.raises(ValueError, match=r"Unknown zoo entries \['resnet'\].*'fc'"):
        profile.grid("shapes", entries=["fc", "resnet"])
    with pytest.raises(ValueError, match=r"\['mnist_fc'\] for the shapes study"):
        profile.grid("shapes", entries=["mnist_fc"])
    with pytest.raises(ValueError, match="MNIST study only"):
        profile.grid("shapes", fractions=[0.1])
    with pytest.raises(ValueError, match="Repeated seeds"):
        profile.grid("shapes", seeds=[1, 1])
    with pytest.raises(ValueError, match="Unknown study"):
        profile.grid("cifar")


def test_get_profile_by_path_and_its_errors(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("from bvae_tf.profiles import Profile\n"
                    "PROFILE = Profile(name='mine', shapes_betas=(2.0,), max_epochs=1)\n")
    profile = profiles.get_profile(str(path))
    assert (profile.name, profile.shapes_betas, profile.max_epochs) == ("mine", (2.0,), 1)
    assert profiles.get_profile(profile) is profile
    with pytest.raises(ValueError, match=r"Unknown profile 'fast'.*\('paper', 'quick'\)"):
        profiles.get_profile("fast")
    with pytest.raises(ValueError, match="No profile file"):
        profiles.get_profile(str(tmp_path / "missing.py"))
    (tmp_path / "empty.py").write_text("PROFILE = {'name': 'x'}\n")
    with pytest.raises(ValueError, match="must define PROFILE"):
        profiles.get_profile(str(tmp_path / "empty.py"))


def test_to_config_is_json_and_tells_profiles_apart():
    paper, quick = profiles.get_profile("paper"), profiles.get_profile("quick")
    config = paper.to_config()
    assert json.loads(json.dumps(config)) == config
    assert config["shapes_betas"][:2] == [0.0, 0.2] and config["max_epochs"] is None
    assert config != quick.to_config()


def test_beta_range_has_no_float_drift():
    assert profiles.beta_range(1.0, 0.1) == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9,
                                             1.0)


AUTHORS_CHOICES = {"batch_norm_momentum": 0.999, "validation_statistics": "batch_statistics",
                   "validation_noise": "fresh", "shapes_split": "per_seed",
                   "metric_samples": "per_seed", "mnist_subset_rounding": "floor"}


def test_the_paper_profile_makes_the_authors_choices(tmp_path):
    paper = profiles.get_profile("paper")
    for name, value in AUTHORS_CHOICES.items():
        assert getattr(paper, name) == value, name
        assert getattr(paper.settings("shapes"), name) == value
        assert getattr(paper.settings("mnist"), name) == value
    assert paper.std_ddof == 1
    options = paper.metric_options["beta_vae"]
    assert (options.get("patience"), options.get("max_epochs", "unset")) == (21, None)
    config = json.loads(results.check_config(
        tmp_path, results.sweep_config(paper.to_config(), 0)).read_text())["profile"]
    assert {name: config[name] for name in AUTHORS_CHOICES} == AUTHORS_CHOICES
    assert config["std_ddof"] == 1


def test_the_quick_profile_departs_only_where_it_says():
    quick, paper = profiles.get_profile("quick"), profiles.get_profile("paper")
    departures = {name for name in (*AUTHORS_CHOICES, "std_ddof")
                  if getattr(quick, name) != getattr(paper, name)}
    assert departures == {"batch_norm_momentum"}


@pytest.mark.parametrize("field, value", [("validation_statistics", "batch"),
                                          ("shapes_split", "fresh"), ("std_ddof", 2),
                                          ("batch_norm_momentum", 1.5)])
def test_unknown_choices_are_refused_by_name(field, value):
    with pytest.raises(ValueError, match=field):
        profiles.Profile(name="bad", **{field: value})
