"""The `bvae-tf` parser: every subcommand is registered and maps its flags as documented."""

import pytest

from bvae_tf import cli


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
