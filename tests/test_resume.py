"""A trial killed (SIGKILL) in any phase and run again is the uninterrupted trial, bit for bit.

Each killed process runs `bvae-tf train` with one function replaced by a `kill -9` of
itself, so the kill lands exactly in the phase named: during an epoch, between two epochs,
while exporting the encoder, while scoring it. The rerun is the plain command.
"""

import json
import sys

import keras
import numpy as np
import pytest
from processes import cli_command, finish, start

import bvae_tf.models  # noqa: F401  (registers BetaVAE for load_model)
from bvae_tf import results

pytestmark = pytest.mark.slow

TRIAL = "mnist_fc-frac0.05-beta1.0-seed0"
# 2,750 images: two batches an epoch, so a kill can land inside one; 4 epochs, saved each.
TRAIN = ("train", "--model", "mnist_fc", "--beta", "1", "--train-fraction", "0.05",
         "--max-epochs", "4", "--save-every", "0", "--precision", "float32",
         "--jit-compile", "false")

# Runs `bvae-tf ARGS` with the phase given as first argument ending in a SIGKILL.
KILLED_IN = r"""
import os, signal, sys
import keras
from bvae_tf import cli, export, scoring, training

phase = sys.argv[1]

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

class Die(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if phase == "between_epochs" and epoch == 2:
            die()

    def on_train_batch_end(self, batch, logs=None):
        if phase == "mid_epoch" and self.epoch == 2 and batch == 0:
            die()

if phase in ("mid_epoch", "between_epochs"):
    callbacks_for = training.callbacks_for
    training.callbacks_for = lambda *args, **kwargs: callbacks_for(*args, **kwargs) + [Die()]
elif phase == "exporting":
    export._replace = die  # the SavedModel is written, not yet renamed into place
elif phase == "scoring":
    scoring.svm_accuracy = die
sys.exit(cli.main(sys.argv[2:]))
"""


def _run(out, mnist_npz, *extra, phase=None):
    args = [*TRAIN, "--results", out, "--mnist", mnist_npz, *extra]
    command = cli_command(*args) if phase is None else [
        sys.executable, "-c", KILLED_IN, phase, *map(str, args)]
    process = start(command)
    output = finish(process)
    return process.returncode, output


def _record_and_weights(out):
    (record,) = results.read_records(out)
    model = keras.saving.load_model(out / record["model_path"])
    return record, model.get_weights()


SAME = ("epochs", "best_epoch", "early_stopped", "losses", "metrics", "config")


@pytest.fixture(scope="module")
def uninterrupted(mnist_npz, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    code, output = _run(out, mnist_npz)
    assert code == 0, output
    return _record_and_weights(out)


@pytest.mark.parametrize("phase, resumed_from", [
    ("mid_epoch", 2), ("between_epochs", 2), ("exporting", 4), ("scoring", 4)])
def test_a_trial_killed_in_any_phase_reruns_into_the_uninterrupted_record(
        uninterrupted, mnist_npz, tmp_path, phase, resumed_from):
    code, output = _run(tmp_path, mnist_npz, phase=phase)
    assert code == -9, output  # killed, no record
    assert not results.read_records(tmp_path)
    code, output = _run(tmp_path, mnist_npz)
    assert code == 0, output
    if resumed_from == 4:
        assert "Epoch " not in output  # the trained model was reused, not trained again
    record, weights = _record_and_weights(tmp_path)
    expected_record, expected_weights = uninterrupted
    assert {key: record[key] for key in SAME} == {key: expected_record[key] for key in SAME}
    assert (record["resumed_from_epoch"], record["processes"]) == (resumed_from, 2)
    assert expected_record["processes"] == 1
    for actual, expected in zip(weights, expected_weights, strict=True):
        np.testing.assert_array_equal(actual, expected)
    state = results.model_dir(tmp_path, "mnist", TRIAL) / "resume"
    assert not state.exists()  # discarded once the record is written


def test_a_rerun_with_other_settings_is_refused_and_loses_nothing(mnist_npz, tmp_path):
    code, output = _run(tmp_path, mnist_npz, phase="scoring")
    assert code == -9, output
    state = results.model_dir(tmp_path, "mnist", TRIAL) / "resume" / "state.json"
    saved = state.read_text()
    code, output = _run(tmp_path, mnist_npz, "--validation-size", "2000")
    assert code == 2, output
    assert "validation_size: the state's None, this run's 2000" in output, output
    assert state.read_text() == saved and not results.read_records(tmp_path)
    code, output = _run(tmp_path, mnist_npz)  # the first settings go on with it
    assert code == 0 and "Epoch " not in output, output
    assert json.loads(results.record_path(tmp_path, "mnist", TRIAL).read_text())["epochs"] == 4
