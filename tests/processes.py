"""Running `bvae-tf` commands as real processes: start, wait, kill mid-trial."""

import os
import pathlib
import signal
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]


def cli_command(*args):
    """`python -m bvae_tf.cli ARGS` with this interpreter."""
    return [sys.executable, "-m", "bvae_tf.cli", *map(str, args)]


def start(command, **variables):
    """Starts `command` in the repository, stdout and stderr merged into one text pipe.

    `variables` are added to the environment (e.g. `KERASTUNER_TUNER_ID="tuner-a"`).
    """
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **variables}
    return subprocess.Popen(command, cwd=REPO, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(process, timeout=900):
    """Waits for `process` (killed after `timeout` seconds) and returns its output."""
    try:
        output, _ = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return output


def kill_once_exists(process, path, timeout=600):
    """SIGKILLs `process` as soon as `path` exists; fails if it ended before that."""
    deadline = time.monotonic() + timeout
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert process.poll() is None, finish(process)
    process.send_signal(signal.SIGKILL)
    finish(process)
