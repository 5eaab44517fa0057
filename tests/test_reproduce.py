"""`bvae-tf reproduce` end to end on a tiny profile: killed midway, rerun, nothing redone."""

import pytest
from processes import cli_command, finish, kill_once_exists, start

from bvae_tf import results

TINY_PROFILE = """
from bvae_tf.profiles import Profile

PROFILE = Profile(
    name="tiny", shapes_entries=("fc",), shapes_betas=(0.0, 4.0), shapes_seeds=(0,),
    max_epochs=1, train_fraction=0.002, validation_size=200, batch_size=100, jit_compile=False,
    metrics=("beta_vae",),
    metric_options={"beta_vae": {"num_train": 300, "num_validation": 100, "num_test": 100}},
    mnist_entries=("mnist_fc",), mnist_betas=(1.0,), mnist_fractions=(0.02,),
    mnist_seeds=(0,), mnist_max_epochs=1,
)
"""
NAMES = ["fc-beta0.0-seed0", "fc-beta4.0-seed0", "mnist_fc-frac0.02-beta1.0-seed0"]


@pytest.mark.slow
def test_reproduce_killed_midway_resumes_without_redoing_trials(tmp_path, shapes_data,
                                                                 shapes_cache_dir, mnist_npz):
    profile = tmp_path / "tiny.py"
    profile.write_text(TINY_PROFILE)
    out = tmp_path / "results"
    command = cli_command("reproduce", "--profile", profile, "--results", out, "--cache-dir",
                          shapes_cache_dir, "--mnist", mnist_npz, "--verbose", "0")
    first = start(command)
    kill_once_exists(first, out / "models" / "shapes" / NAMES[1] / "logs")  # second trial
    assert [record["trial_name"] for record in results.read_records(out)] == NAMES[:1]
    assert not (out / "report").exists()

    second = start(command)
    output = finish(second)
    assert second.returncode == 0, output
    records = results.read_records(out)
    assert [record["trial_name"] for record in records] == NAMES
    assert [record["worker"]["pid"] for record in records] == [first.pid] + [second.pid] * 2
    report = (out / "report" / "report.md").read_text(encoding="utf-8")
    assert "Profile **tiny**" in report and "| trials | 1 finished of 1 planned |" in report
    assert (out / "report" / "figure1.png").is_file() and (out / "report" / "figure2.png").is_file()
    config = (out / "saved_models" / "models.config").read_text(encoding="utf-8")
    assert config.count("config {") == 3  # every exported encoder, MNIST's included
    assert all(f"name: '{name}'" in config for name in NAMES)
