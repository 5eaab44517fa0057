"""The `bvae-tf` parser: every subcommand is registered and maps its flags as documented."""

import pytest

from bvae_tf import cli, results


def test_every_subcommand_parses_its_help(capsys):
    for name in cli.COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            cli.build_parser().parse_args([name, "--help"])
        assert exit_info.value.code == 0
        assert f"bvae-tf {name}" in capsys.readouterr().out


def test_mnist_is_the_mnist_sweep():
    arguments = cli.build_parser().parse_args(["mnist", "--results", "runs", "--betas", "0,1"])
    assert arguments.study == "mnist"
    assert cli.COMMANDS["mnist"][1] is cli.COMMANDS["sweep"][1]
    assert cli._numbers(arguments.betas, float, "--betas") == [0.0, 1.0]


def test_library_errors_exit_with_code_2_and_a_message(tmp_path, capsys):
    code = cli.main(["serving-config", str(tmp_path / "missing")])
    assert code == 2
    assert "No folder of exported encoders" in capsys.readouterr().err


def test_speed_prints_the_probe_table_from_the_cache(tmp_path, monkeypatch, capsys):
    from bvae_tf import speed, zoo

    monkeypatch.setenv("BVAE_TF_CACHE", str(tmp_path))
    config = zoo.entry("conv").model_config()
    rates = {("float32", False): 900.0, ("float32", True): 600.0,
             ("mixed_bfloat16", False): 1800.0, ("mixed_bfloat16", True): 1200.0}
    speed.probe_table(config, 100, measure=lambda c, b, candidates: {
        candidate: rates[candidate] for candidate in candidates})  # the cache, filled
    assert cli.main(["speed", "--model", "conv", "--batch-size", "100"]) == 0
    lines = capsys.readouterr().out.splitlines()
    chosen = [line for line in lines if line.endswith("| yes |")]
    assert len(chosen) == 1 and chosen[0].startswith(
        "| mixed_bfloat16 | off | 1,800" if speed.native_bfloat16() else "| float32 | off | 900")


def test_the_paper_profile_trains_in_float32_and_quick_takes_auto():
    from bvae_tf import profiles

    assert profiles.get_profile("paper").settings("shapes").precision == "float32"
    assert profiles.get_profile("quick").settings("mnist").precision == "auto"


NATIVE_MARKERS = ("absl::InitializeLog", "I0000", "W0000", "E0000", "cuInit", "oneDNN")


def _zoo_wanted(tmp_path, *flags):
    import os
    import subprocess
    import sys

    environment = {key: value for key, value in os.environ.items()
                   if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", "bvae_tf.cli", *flags, "zoo", "wanted",
                           "--runs", str(tmp_path)], check=False, capture_output=True, text=True,
                          env=environment, timeout=300)


def test_no_command_prints_tensorflows_start_up_lines_unless_asked(tmp_path):
    shown = _zoo_wanted(tmp_path, "--tf-logs")  # imports TensorFlow, lists the wanted trials
    if not any(marker in shown.stderr for marker in NATIVE_MARKERS):
        pytest.skip("this TensorFlow prints no start-up line here")
    quiet = _zoo_wanted(tmp_path)
    assert quiet.returncode == shown.returncode == 0, quiet.stderr
    assert not [marker for marker in NATIVE_MARKERS if marker in quiet.stderr], quiet.stderr
    assert quiet.stdout == shown.stdout and "fc-beta4.0-seed0" in quiet.stdout


def test_version_names_the_package_and_its_commit(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("bvae-tf 0.") and ("commit " in text) == (
        results.code_version() is not None)


def test_every_subcommand_help_describes_it(capsys):
    for name in cli.COMMANDS:
        with pytest.raises(SystemExit):
            cli.main([name, "--help"])
        _, _, rest = capsys.readouterr().out.partition("\n\n")
        assert rest.strip() and not rest.startswith(("positional", "options")), name


def test_the_mnist_command_offers_no_shapes_flags(capsys):
    with pytest.raises(SystemExit):
        cli.main(["mnist", "--help"])
    text = capsys.readouterr().out
    assert "--mnist" in text and "--cache-dir" not in text and "--seed " not in text


@pytest.mark.parametrize("key, value, text", [
    ("beta_vae.num_train", 35001.0, "35001"), ("beta_vae.epochs", 42.0, "42"),
    ("beta_vae", 0.75, "0.7500"), ("mig", 1.0, "1.0000")])
def test_metric_counts_print_as_whole_numbers(key, value, text):
    assert cli._score_text(key, value) == text
