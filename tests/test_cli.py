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
