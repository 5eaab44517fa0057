"""Each example in examples/ runs with --quick, as a user would run it (a fresh process)."""

import os
import pathlib
import re
import subprocess
import sys

import pytest
from PIL import Image

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def run_example(name, *arguments, cwd, cache_dir):
    environment = dict(os.environ, BVAE_TF_CACHE=str(cache_dir))
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *arguments], cwd=cwd, env=environment,
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


@pytest.mark.slow
def test_quickstart_writes_inputs_targets_and_reconstructions(tmp_path, shapes_data,
                                                              shapes_cache_dir):
    run_example("quickstart.py", "--quick", cwd=tmp_path, cache_dir=shapes_cache_dir)
    image = Image.open(tmp_path / "quickstart.png")
    assert image.size == (8 * 64, 3 * 64)


@pytest.mark.slow
def test_beta_sweep_runs_every_trial_and_draws_figure1(tmp_path, shapes_data, shapes_cache_dir):
    output = run_example("beta_sweep.py", "--quick", "--results", "sweep", cwd=tmp_path,
                         cache_dir=shapes_cache_dir)
    assert "2 of 2 trials done" in output
    assert (tmp_path / "sweep" / "report" / "figure1.png").is_file()
    assert len(list((tmp_path / "sweep" / "records" / "shapes").glob("*.json"))) == 2


@pytest.mark.slow
def test_svm_on_codes_reads_the_saved_model_and_beats_chance(tmp_path, shapes_cache_dir):
    output = run_example("svm_on_codes.py", "--quick", cwd=tmp_path, cache_dir=shapes_cache_dir)
    accuracy = float(re.search(r"test accuracy ([0-9.]+)", output).group(1))
    assert accuracy > 0.5  # chance is 0.1 over ten digits
