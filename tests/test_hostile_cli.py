"""The command line under careless or hostile input: a clear error before any work or file.

Each test reproduces one defect of the hostile-input pass (issue 13) that the command line
owns; the property test feeds every numeric flag random bad values.
"""

import socket
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bvae_tf import cli, distributed, training

PROFILE_HEADER = "from bvae_tf.profiles import Profile\n"


def run(capsys, *argv):
    """Runs `bvae-tf ARGV`; returns (exit code, stderr). Parse errors exit 2 too."""
    try:
        code = cli.main([str(arg) for arg in argv])
    except SystemExit as exit_info:
        code = exit_info.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("value", ["nan", "-5", "0", "inf"])
def test_connect_timeout_must_be_finite_and_positive(tmp_path, capsys, value):
    code, error = run(capsys, "sweep", "--role", "worker", "--connect-timeout", value,
                      "--results", tmp_path / "r")
    assert code == 2 and "argument --connect-timeout: must be a finite number" in error
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("flag, values, message", [
    ("--betas", ["nan"], "Bad betas"), ("--betas", ["inf"], "Bad betas"),
    ("--betas", ["-1"], "Bad betas"), ("--seeds", ["-1"], "Bad seeds"),
    ("--betas", ["x"], "--betas takes float values"),
])
def test_grid_values_are_checked_before_config_json(tmp_path, capsys, flag, values, message):
    code, error = run(capsys, "sweep", "--results", tmp_path, "--quiet", flag, *values)
    assert code == 2 and message in error
    assert not (tmp_path / "config.json").exists()


def test_a_profile_file_with_bad_values_or_errors_is_named(tmp_path, capsys):
    cases = {"negative.py": PROFILE_HEADER + "PROFILE = Profile(name='n', shapes_betas=(-1.0,))\n",
             "syntax.py": PROFILE_HEADER + "PROFILE = Profile(name='s'\n",
             "imports.py": "import no_such_module_anywhere\n"}
    expected = {"negative.py": "Bad betas [-1.0]", "syntax.py": "does not run (line 2)",
                "imports.py": "ModuleNotFoundError: No module named 'no_such_module_anywhere'"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        code, error = run(capsys, "sweep", "--profile", tmp_path / name, "--results",
                          tmp_path / name.replace(".py", ""), "--quiet")
        assert code == 2 and expected[name] in error and "Traceback" not in error, error
        assert not (tmp_path / name.replace(".py", "")).exists()


def test_output_paths_are_checked_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    code, error = run(capsys, "train", "--model", "fc", "--beta", "1", "--results",
                      blocker / "sub")
    assert code == 2 and "--results" in error and "is a file" in error
    code, error = run(capsys, "metric", "--encoder", tmp_path / "none", "--json", tmp_path)
    assert code == 2 and "--json" in error and "is a directory" in error
    code, error = run(capsys, "results", "--results", tmp_path, "--csv", tmp_path)
    assert code == 2 and "--csv" in error and "is a directory" in error


@pytest.mark.parametrize("argv, flag", [
    (["train", "--model", "fc", "--beta", "3.5e38", "--results", "r"], "--beta"),
    (["train", "--model", "fc", "--beta", "1", "--seed", "-1", "--results", "r"], "--seed"),
    (["data", "--seed", "-1"], "--seed"),
    (["report", "--results", "r", "--seed", "2.5"], "--seed"),
    (["data", "--show", "0"], "--show"),
])
def test_bad_numbers_name_their_flag(tmp_path, capsys, monkeypatch, argv, flag):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BVAE_TF_CACHE", str(tmp_path / "cache"))
    code, error = run(capsys, *argv)
    assert code == 2 and f"argument {flag}:" in error
    assert list(tmp_path.iterdir()) == []  # nothing built, nothing written


def test_show_more_images_than_the_split_holds_is_refused(shapes_cache_dir, tmp_path, capsys,
                                                          shapes_data):
    code, error = run(capsys, "data", "--cache-dir", shapes_cache_dir, "--show", "100000000",
                      "--out", tmp_path / "m.png")
    assert code == 2 and "--show 100000000 is more than the 186915" in error
    assert not (tmp_path / "m.png").exists()


def test_no_epoch_cap_is_said_in_words(capsys):
    import keras
    import numpy as np
    import tensorflow as tf

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    pairs = tf.data.Dataset.from_tensor_slices((np.ones((1, 1)), np.ones((1, 1)))).batch(1)
    training.fit(model, pairs, pairs, patience=0, verbose=1)
    output = capsys.readouterr().out
    assert "Epoch 1 (no epoch cap: early stopping ends training)" in output
    assert str(training.NO_EPOCH_CAP) not in output


def test_the_chief_warns_beyond_loopback_and_names_a_busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            distributed.check_listen_address("127.0.0.1", port)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        distributed.check_listen_address("127.0.0.1", 0)  # loopback: silent
    with pytest.warns(UserWarning, match="beyond loopback.*trusted network"):
        distributed.check_listen_address("0.0.0.0", 0)


NUMERIC_FLAGS = {  # subcommand and required arguments -> its numeric flags
    ("train", "--model", "fc", "--beta", "1", "--results", "r"): (
        "--beta", "--seed", "--max-epochs", "--train-fraction", "--validation-size"),
    ("sweep", "--results", "r"): ("--seed", "--connect-timeout"),
    ("data",): ("--seed", "--show"),
    ("report", "--results", "r"): ("--seed",),
    ("metric", "--encoder", "e"): ("--seed",),
    ("reproduce",): ("--seed",),
}
BAD_NUMBERS = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "-1", "1e400", "", "0x10", "1,5", "None"]),
    st.floats(max_value=-1e-9, allow_nan=False).map(repr),
    st.integers(max_value=-1).map(str),
    st.text(alphabet="abcxyz!@#", min_size=1, max_size=6),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(sorted(NUMERIC_FLAGS)), data=st.data(), value=BAD_NUMBERS)
def test_random_bad_numbers_get_a_usage_error_naming_the_flag(command, data, value, capsys,
                                                              tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flag = data.draw(st.sampled_from(NUMERIC_FLAGS[command]))
    code, error = run(capsys, *command, f"{flag}={value}")
    assert code == 2, (command, flag, value, error)
    assert f"argument {flag}" in error and "Traceback" not in error
    assert list(tmp_path.iterdir()) == []
