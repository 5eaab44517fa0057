"""Training at the speed of the machine: precision and XLA chosen by measurement.

`resolve` turns `precision="auto"` and `jit_compile="auto"` into a concrete choice for one
model configuration and batch size on the machine at hand. The candidates are float32 and,
only where the hardware runs bfloat16 natively (a CPU with AVX512_BF16 or AMX-BF16 through
oneDNN, or GPUs of compute capability 8.0 or more), "mixed_bfloat16", each with XLA on and
off. A short probe trains each candidate on random images of the configuration's shape, a
few steps at a time in interleaved rounds after a warm-up, and picks the most images per
second (compared within rounds); among candidates within `TOLERANCE` of the fastest it
prefers float32 to bfloat16 and XLA off to on (more precise, no compilation). The measured table
is cached as JSON in the package cache (`bvae_tf.data.cache.default_cache_dir()`,
`$BVAE_TF_CACHE`) under a key made of the machine's description, the TensorFlow and Keras
versions, the configuration, the batch size and the candidates; `refresh=True` measures
again.

Precedence: an explicit argument ("float32", True, ...) wins; an "auto" argument takes
`$BVAE_TF_PRECISION` / `$BVAE_TF_JIT_COMPILE` when set (same values as the arguments,
booleans as true/false/1/0); a precision still "auto" follows Keras' global dtype policy
when it is not the default float32 ("mixed_bfloat16"; any other raises ValueError); what is
still "auto" is probed.

The probe trains with the zoo's optimizer, `bvae_tf.models.Adam` (Keras' Adam on TensorFlow's fused kernel), the same math in
one pass over each variable instead of about ten.

Example:
>>> resolve({"architecture": "fc"}, 1000, precision="float32", jit_compile=False)
('float32', False)
>>> fake = lambda config, batch_size, candidates: {  # images/s; XLA twice as fast
...     candidate: 2000.0 if candidate[1] else 1000.0 for candidate in candidates}
>>> import tempfile
>>> rows = probe_table({"architecture": "fc"}, 100, precision="float32",
...                    cache_dir=tempfile.mkdtemp(), measure=fake)
>>> [(row["jit_compile"], row["chosen"]) for row in rows]
[(False, False), (True, True)]
"""

import contextlib
import hashlib
import json
import os
import pathlib
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from bvae_tf.data import cache
from bvae_tf.models import Adam, BetaVAE
from bvae_tf.models.beta_vae import PRECISIONS, global_precision

PRECISION_ENV = "BVAE_TF_PRECISION"
JIT_COMPILE_ENV = "BVAE_TF_JIT_COMPILE"
AUTO = "auto"
# A candidate at most this much slower than the fastest still wins if it comes first in
# `_PREFERENCE` (float32 before bfloat16, XLA off before on).
TOLERANCE = 0.03
CACHE_SUBDIR = "speed-v1"
CACHE_FILE = "probes.json"
# BetaVAE arguments that do not change the cost of a training step: left out of the key.
_NOT_SPEED = ("beta", "seed", "denoising", "precision", "name", "batch_norm_momentum",
              "batch_norm_epsilon", "validation_statistics")
_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
_CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
# Probe: warm-up steps (tracing, XLA compilation), then rounds of timed steps per candidate.
PROBE_SECONDS = 6.0
PROBE_ROUNDS = 7
_WARMUP_STEPS = 3


def resolve(model_config, batch_size, precision=AUTO, jit_compile=AUTO, refresh=False,
            cache_dir=None, measure=None, measure_missing=True):
    """Returns `(precision, jit_compile)` for training `model_config` at `batch_size`.

    Args:
        model_config: dict of `BetaVAE` keyword arguments (architecture, image_shape,
            latent_dim, layer sizes); beta, seed and denoising are ignored.
        batch_size: int >= 1, the training batch size.
        precision: "float32", "mixed_bfloat16" or "auto". Defaults to "auto".
        jit_compile: bool or "auto". Defaults to "auto".
        refresh: bool, whether to probe again even if the cache has the answer.
        cache_dir: str, path or None: the package cache (`$BVAE_TF_CACHE`, ...).
        measure: callable `(model_config, batch_size, candidates) -> {candidate:
            images per second}`, candidates being `(precision, jit_compile)` tuples.
            Defaults to None: `measure_candidates`, the real probe.
        measure_missing: bool, whether to measure when the cache has no answer; if False,
            "auto" becomes float32 without XLA (a model constructor never measures: the
            trials, which run long, do). Defaults to True.

    Returns:
        (str, bool).

    Raises:
        ValueError: on a value of `precision`, `jit_compile` or their environment
            variables outside the choices, or a bad `batch_size`.
    """
    precision, jit_compile = _requested(precision, jit_compile)
    if AUTO not in (precision, jit_compile):
        return precision, jit_compile
    rows = probe_table(model_config, batch_size, precision, jit_compile, refresh, cache_dir,
                       measure, measure_missing)
    if rows is None:  # not measured here, and not to be
        return ("float32" if precision == AUTO else precision,
                False if jit_compile == AUTO else jit_compile)
    chosen = next(row for row in rows if row["chosen"])
    return chosen["precision"], chosen["jit_compile"]


def probe_table(model_config, batch_size, precision=AUTO, jit_compile=AUTO, refresh=False,
                cache_dir=None, measure=None, measure_missing=True):
    """Returns the probe's rows for `model_config` at `batch_size`, from the cache or measured.

    Arguments as in `resolve` (here the environment variables are not read: the table is
    of the candidates the arguments leave open). Each row is a dict: "precision",
    "jit_compile", "images_per_second", "relative" (to the fastest) and "chosen" (bool,
    exactly one row). A fresh measurement is written to the cache; with `measure_missing`
    False, a configuration the cache lacks gives None instead.
    """
    batch_size = _check_batch_size(batch_size)
    options = candidates(_check_precision(precision, "precision"),
                         _check_jit_compile(jit_compile, "jit_compile"))
    key = cache_key(model_config, batch_size, options)
    path = cache_path(cache_dir)
    entries = _read_cache(path)
    if not refresh and key in entries:
        return entries[key]["rows"]
    if not measure_missing:
        return None
    print(f"bvae_tf: measuring which of {len(options)} precision and XLA settings trains "
          f"{model_config.get('architecture', 'this')} models of these sizes fastest at batch "
          f"{batch_size} on this machine (about {len(options) * PROBE_SECONDS:.0f} s plus "
          f"compilation; once: the answer is cached in {path})", file=sys.stderr, flush=True)
    rates = (measure or measure_candidates)(_speed_config(model_config), batch_size, options)
    rows = _rows(options, rates)
    entries[key] = {"description": _key_fields(model_config, batch_size, options),
                    "measured": time.strftime("%Y-%m-%d %H:%M:%S"), "rows": rows}
    _write_cache(path, key, entries[key])
    return rows


def format_table(rows, model_config=None, batch_size=None):
    """Returns the probe's rows as a Markdown table, headed by the machine they ran on.

    Example:
    >>> print(format_table([{"precision": "float32", "jit_compile": False,
    ...                      "images_per_second": 2000.0, "relative": 1.0, "chosen": True}]
    ...                    ).splitlines()[-1])
    | float32 | off | 2,000 | 1.00 | yes |
    """
    lines = [describe_machine()]
    if model_config is not None:
        lines.append(f"model: {json.dumps(_speed_config(model_config), sort_keys=True)}, "
                     f"batch {batch_size}")
    lines += ["", "| precision | XLA | images/s | relative | chosen |", "|---|---|---:|---:|---|"]
    lines += [f"| {row['precision']} | {'on' if row['jit_compile'] else 'off'} | "
              f"{row['images_per_second']:,.0f} | {row['relative']:.2f} | "
              f"{'yes' if row['chosen'] else ''} |" for row in rows]
    return "\n".join(lines)


def describe_machine(machine=None):
    """Returns one line: the CPU, its flags of note, oneDNN, the GPUs and TensorFlow."""
    machine = machine or machine_description()
    gpus = ", ".join(f"{gpu['name']} (compute capability {gpu['compute_capability']})"
                     for gpu in machine["gpus"])
    return (f"machine: {machine['cpu']}, {machine['cpus']} CPUs, flags "
            f"{' '.join(machine['cpu_flags']) or '(none of note)'}, oneDNN "
            f"{'on' if machine['onednn'] else 'off'}; GPUs: {gpus or 'none'}; TF "
            f"{tf.__version__}; native bfloat16: {'yes' if native_bfloat16(machine) else 'no'}")


def candidates(precision=AUTO, jit_compile=AUTO, machine=None):
    """Returns the `(precision, jit_compile)` pairs "auto" chooses from.

    Args:
        precision: "float32", "mixed_bfloat16" or "auto" (both, if `native_bfloat16`).
        jit_compile: bool or "auto" (both).
        machine: dict as from `machine_description`. Defaults to None: this machine.

    Example:
    >>> candidates("float32", AUTO)
    [('float32', False), ('float32', True)]
    """
    precisions = [precision] if precision != AUTO else (
        list(PRECISIONS) if native_bfloat16(machine) else ["float32"])
    jit_compiles = [jit_compile] if jit_compile != AUTO else [False, True]
    return [(each, jit) for each in precisions for jit in jit_compiles]


def native_bfloat16(machine=None):
    """Whether this machine trains in bfloat16 in hardware.

    On a GPU machine: every GPU has compute capability 8.0 or more. Else: the CPU has
    AVX512_BF16 or AMX-BF16 and TensorFlow's oneDNN is on (`TF_ENABLE_ONEDNN_OPTS`).

    Args:
        machine: dict as from `machine_description`. Defaults to None: this machine.

    Example:
    >>> native_bfloat16({"gpus": [{"name": "A100", "compute_capability": [8, 0]}]})
    True
    """
    machine = machine or machine_description()
    if machine["gpus"]:
        return all(tuple(gpu["compute_capability"] or (0,)) >= (8, 0)
                   for gpu in machine["gpus"])
    return machine["onednn"] and any(flag in machine["cpu_flags"] for flag in _BF16_CPU_FLAGS)


def machine_description():
    """Returns what a speed measurement depends on: CPU model, flags, cores, oneDNN, GPUs."""
    model, flags = _cpuinfo()
    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        capability = details.get("compute_capability")
        gpus.append({"name": details.get("device_name", device.name),
                     "compute_capability": list(capability) if capability else None})
    return {"cpu": model, "cpu_flags": [flag for flag in _CPU_FLAGS if flag in flags],
            "cpus": len(os.sched_getaffinity(0)), "onednn": _onednn_enabled(), "gpus": gpus}


def _cpuinfo():
    model, flags = "unknown CPU", set()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as stream:
        for line in stream:
            name, _, value = line.partition(":")
            if name.strip() == "model name":
                model = value.strip()
            elif name.strip() == "flags":
                flags = set(value.split())
                break
    return model, flags


def _onednn_enabled():
    from tensorflow.python.util import _pywrap_util_port  # TF's own answer, env included

    return bool(_pywrap_util_port.IsMklEnabled())


def cache_path(cache_dir=None):
    """Returns the JSON file of the probes under `cache_dir` (default: the package cache)."""
    root = cache.default_cache_dir() if cache_dir is None else pathlib.Path(cache_dir)
    return root.expanduser() / CACHE_SUBDIR / CACHE_FILE


def cache_key(model_config, batch_size, options):
    """Returns the cache key (hex sha256) of a probe: machine, versions, config, batch."""
    text = json.dumps(_key_fields(model_config, batch_size, options), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _key_fields(model_config, batch_size, options):
    return {"machine": machine_description(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "config": _speed_config(model_config),
            "batch_size": batch_size, "candidates": [list(option) for option in options]}


def _speed_config(model_config):
    return {key: list(value) if isinstance(value, tuple) else value
            for key, value in sorted(model_config.items()) if key not in _NOT_SPEED}


def _read_cache(path):
    """The cache's well-formed entries; anything else is dropped and measured again."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing or unreadable (decode errors are ValueErrors)
        return {}
    if not isinstance(entries, dict):
        return {}
    return {key: entry for key, entry in entries.items() if _well_formed(entry)}


def _well_formed(entry):
    """Whether a cache entry has rows `resolve` can choose from: one chosen, known values."""
    rows = entry.get("rows") if isinstance(entry, dict) else None
    if not isinstance(rows, list) or not rows:
        return False
    for row in rows:
        if not (isinstance(row, dict) and row.get("precision") in PRECISIONS
                and isinstance(row.get("jit_compile"), bool)
                and isinstance(row.get("chosen"), bool)
                and isinstance(row.get("images_per_second"), (int, float))):
            return False
    return sum(row["chosen"] for row in rows) == 1


def _write_cache(path, key, entry):
    """Adds `entry` under `key`, re-reading the file under a lock and replacing it atomically."""
    with cache.build_lock(path.parent):
        entries = {**_read_cache(path), key: entry}
        with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.",
                                         delete=False) as stream:
            json.dump(entries, stream, indent=1, sort_keys=True)
        os.replace(stream.name, path)


_PREFERENCE = [("float32", False), ("float32", True), ("mixed_bfloat16", False),
               ("mixed_bfloat16", True)]


def _rows(options, rates):
    """Table rows of `options` with their measured `rates`, the choice marked."""
    best = max(rates[option] for option in options)
    chosen = next(option for option in sorted(options, key=_PREFERENCE.index)
                  if rates[option] >= (1.0 - TOLERANCE) * best)
    return [{"precision": option[0], "jit_compile": option[1],
             "images_per_second": float(rates[option]), "relative": rates[option] / best,
             "chosen": option == chosen} for option in options]


def measure_candidates(model_config, batch_size, options, seconds=PROBE_SECONDS,
                       rounds=PROBE_ROUNDS):
    """Returns `{option: images per second}` of each option, trained on random images.

    Each option is built (`BetaVAE(**model_config, precision=..., seed=0)`, `Adam`,
    `jit_compile=...`) and warmed up first; then the options take turns, `rounds` times,
    each training about `seconds / rounds` seconds on one batch of random binary images.
    On a machine shared with other jobs the rate of a round depends on what else runs then,
    so options are compared within rounds: an option's rate is the first option's median
    rate times the median over rounds of its rate over the first option's in that round.
    """
    steppers = {option: _stepper(model_config, batch_size, *option) for option in options}
    steps = {}
    for option, step in steppers.items():
        step(_WARMUP_STEPS)
        start = time.perf_counter()
        step(2)
        steps[option] = max(2, round(seconds / rounds / ((time.perf_counter() - start) / 2)))
    rates = {option: [] for option in options}
    for _ in range(rounds):
        for option, step in steppers.items():
            start = time.perf_counter()
            step(steps[option])
            rates[option].append(batch_size * steps[option] / (time.perf_counter() - start))
    reference = np.array(rates[options[0]])
    return {option: float(np.median(reference) * np.median(np.array(values) / reference))
            for option, values in rates.items()}


def _stepper(model_config, batch_size, precision, jit_compile):
    """Returns `step(count)`: trains a fresh model `count` steps on one repeated batch."""
    model = BetaVAE(**_speed_config(model_config), precision=precision, seed=0)
    model.compile(optimizer=Adam(1e-3), jit_compile=jit_compile)
    images = np.random.default_rng(0).random((batch_size, *model.image_shape)) > 0.5
    images = images.astype(np.float32)
    data = tf.data.Dataset.from_tensors((images, images)).repeat()
    return lambda count: model.fit(data, steps_per_epoch=count, epochs=1, verbose=0,
                                   shuffle=False)


def _requested(precision, jit_compile):
    """The arguments, with "auto" replaced by the environment variables where set."""
    precision = _check_precision(precision, "precision")
    jit_compile = _check_jit_compile(jit_compile, "jit_compile")
    if precision == AUTO and os.environ.get(PRECISION_ENV):
        precision = _check_precision(os.environ[PRECISION_ENV].strip(), f"${PRECISION_ENV}")
    if precision == AUTO and keras.config.dtype_policy().name != "float32":
        precision = global_precision()  # the user's global policy, or a ValueError
    if jit_compile == AUTO and os.environ.get(JIT_COMPILE_ENV):
        jit_compile = _check_jit_compile(os.environ[JIT_COMPILE_ENV], f"${JIT_COMPILE_ENV}")
    return precision, jit_compile


def _check_precision(value, name):
    if value not in (*PRECISIONS, AUTO):
        raise ValueError(f"{name} must be one of {(*PRECISIONS, AUTO)}; got {value!r}.")
    return value


def _check_jit_compile(value, name):
    if isinstance(value, str) and value.strip().lower() in (*_TRUE, *_FALSE, AUTO):
        value = value.strip().lower()
        return AUTO if value == AUTO else value in _TRUE
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name} must be True, False or 'auto' (in the environment: true, "
                     f"false, 1, 0 or auto); got {value!r}.")


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or (
            batch_size < 1):
        raise ValueError(f"batch_size must be an int >= 1; got {batch_size!r}.")
    return int(batch_size)
