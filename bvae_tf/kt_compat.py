"""The one place bvae_tf relies on keras-tuner beyond its public API: a worker's call timeout.

keras-tuner's worker (`KERASTUNER_TUNER_ID` not containing "chief") proxies its oracle over
gRPC and gives every call a fixed timeout of one hour, with no public setting. A worker
whose chief died would hang for that hour. `bound_calls` wraps the gRPC stub of a worker
tuner's oracle so that every call carries `timeout=seconds` instead. It relies on the
worker's oracle having a `stub` whose methods take a `timeout` keyword, checked on the
versions in `TESTED_VERSIONS`; on any other version it fails with a message saying what to
do, instead of silently losing the bound.

Example:
    >>> sorted(TESTED_VERSIONS)
    ['1.4.8']
"""

import functools

import keras_tuner

TESTED_VERSIONS = frozenset({"1.4.8"})


def check_version(version=None):
    """Raises a RuntimeError unless keras-tuner's version is one `bound_calls` was tested on.

    Example:
        >>> check_version("1.4.8")
        >>> check_version("2.0.0")
        Traceback (most recent call last):
        ...
        RuntimeError: bvae_tf bounds keras-tuner workers' calls through the gRPC stub of ...
    """
    version = keras_tuner.__version__ if version is None else version
    if version not in TESTED_VERSIONS:
        raise RuntimeError(
            "bvae_tf bounds keras-tuner workers' calls through the gRPC stub of keras-tuner's "
            f"oracle client, tested on keras-tuner {sorted(TESTED_VERSIONS)}; found {version}. "
            "Install keras-tuner==1.4.8 (setup.cfg pins it), or check "
            "bvae_tf/kt_compat.py against the new version and add it to TESTED_VERSIONS.")


def bound_calls(oracle, seconds):
    """Makes every gRPC call of a worker's `oracle` time out after `seconds`.

    Args:
        oracle: `tuner.oracle` of a worker tuner (keras-tuner's oracle client).
        seconds: float > 0.

    Raises:
        RuntimeError: on an untested keras-tuner, or an oracle without a gRPC stub.
    """
    check_version()
    stub = getattr(oracle, "stub", None)
    if stub is None:
        raise RuntimeError(
            f"{type(oracle).__name__} has no gRPC stub: bound_calls takes the oracle of a "
            "worker tuner (KERASTUNER_TUNER_ID set, without 'chief').")
    oracle.stub = _TimedStub(stub, seconds)


class _TimedStub:
    """Forwards to a gRPC stub, replacing each call's `timeout` with a fixed one."""

    def __init__(self, stub, seconds):
        self._stub = stub
        self._seconds = seconds

    def __getattr__(self, name):
        method = getattr(self._stub, name)
        if not callable(method):
            return method

        @functools.wraps(method)
        def call(*args, **kwargs):
            return method(*args, **{**kwargs, "timeout": self._seconds})

        return call
