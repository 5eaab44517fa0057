"""The results directory: one JSON record per finished trial, written atomically.

Layout (see the sweeps section of the design):

```
<results>/config.json                          the configuration that made the directory
<results>/records/<study>/<trial_name>.json   one record per finished trial
<results>/models/<study>/<trial_name>/          model.keras, history.json, logs/
<results>/saved_models/<entry>/<trial_name>/1/  exported encoder (TF Serving layout)
<results>/tuner/                                keras-tuner's own state
```

Every file here is written to a temporary file in the same directory and renamed with
`os.replace`, so a process killed at any moment leaves either the old file or the new one,
never half of one. Records are the source of truth: a sweep restarted on the same directory
skips every trial whose record exists.

Example:
    >>> import tempfile
    >>> from bvae_tf import results
    >>> directory = tempfile.mkdtemp()
    >>> record = {"study": "shapes", "trial_name": results.trial_name("fc", 4, 0),
    ...           "entry": "fc", "beta": 4.0, "seed": 0, "fraction": None}
    >>> path = results.write_record(directory, record)
    >>> [r["trial_name"] for r in results.read_records(directory)]
    ['fc-beta4.0-seed0']
"""

import csv
import importlib.metadata
import json
import math
import os
import pathlib
import platform
import re
import secrets
import subprocess

STUDIES = ("shapes", "mnist")
CONFIG_FILE = "config.json"
REQUIRED_KEYS = ("study", "trial_name", "entry", "beta", "seed")
PATH_KEYS = ("model_path", "encoder_path")  # relative to the results directory
# Version of the record schema (`docs/records.md`). Records without `schema_version` are
# version 1 (before December 2026): read with their metric names updated (`upgrade_record`).
SCHEMA_VERSION = 2
_RENAMED_METRICS_V1 = {"dci_disentanglement": "dci", "dci_completeness": "dci.completeness",
                       "dci_informativeness_test": "dci.informativeness_test"}
_LEADING_COLUMNS = ("study", "entry", "fraction", "beta", "seed", "epochs", "best_epoch")
_LOSS_NAMES = ("loss", "reconstruction_loss", "kl_loss")
# Prefix of a table's columns holding a record's `options` (`option.tc_weight`).
OPTION_PREFIX = "option."
# Suffix of a record's scores with batch norm's statistics recalibrated (`<name>.recalibrated`).
RECALIBRATED = "recalibrated"
# The shapes' factor names (`bvae_tf.data.render.FACTOR_NAMES`; data is this layer's sibling).
# Shapes records scored before December 8, 2026 key per-factor scores by index
# (`mig.factor_1`); `records_table` shows them by name (`mig.pos_x`), as the metrics now write.
_SHAPES_FACTOR_NAMES = ("shape", "pos_x", "pos_y", "scale", "rotation")
_INDEXED_FACTOR_KEY = re.compile(r"^(mig|sap)\.factor_([0-4])((?:\..+)?)$")


def trial_name(entry, beta, seed, fraction=None, options=None):
    """Returns the name of one trial, used for its record, model and encoder paths.

    Numbers are written as Python's shortest round-trip repr, so distinct betas (or
    fractions, or options) give distinct names, however close: `beta1e-07` and `beta2e-07`.

    Args:
        entry: str, zoo entry, e.g. `"conv_denoising"`.
        beta: float, weight of the KL term.
        seed: int, training seed.
        fraction: float or None, MNIST training fraction (None for shapes).
        options: dict or None, the entry's own hyperparameters set by the trial
            (`ZooEntry.check_options`), named in key order; None or {} names none.

    Returns:
        str like `"conv_denoising-beta4.0-seed0"`, `"mnist_fc-frac0.1-beta1.0-seed0"` or
        `"fc_beta_tcvae-tc_weight2.0-beta1.0-seed0"`.

    Raises:
        ValueError: if `beta`, `fraction` or an option is NaN or infinite.

    Example:
        >>> trial_name("mnist_fc", 1, 0, fraction=0.1)
        'mnist_fc-frac0.1-beta1.0-seed0'
        >>> trial_name("fc", 1e-7, 0)
        'fc-beta1e-07-seed0'
        >>> trial_name("fc_annealed_vae", 1, 0, options={"max_capacity": 5.0,
        ...                                                "capacity_steps": 10})
        'fc_annealed_vae-capacity_steps10-max_capacity5.0-beta1.0-seed0'
    """
    parts = [entry]
    if fraction is not None:
        parts.append(f"frac{_exact(fraction, 'fraction')}")
    parts += [f"{name}{_option_text(value, name)}"
              for name, value in sorted((options or {}).items())]
    parts += [f"beta{_exact(beta, 'beta')}", f"seed{int(seed)}"]
    return "-".join(parts)


def _option_text(value, name):
    """An option's value in a name: an int as written, any other number as `_exact`'s."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _exact(value, name)


def _exact(value, argument):
    """`repr` of `value` as a float (-0.0 as 0.0): equal texts only for equal numbers."""
    value = float(value) + 0.0
    if not math.isfinite(value):
        raise ValueError(f"{argument} must be a finite number to name a trial; got {value!r}.")
    return repr(value)


def versions():
    """Returns the installed versions of bvae_tf and its main dependencies (no imports)."""
    packages = {"bvae_tf": "bvae_tf", "tensorflow": "tensorflow", "keras": "keras",
                "tfp": "tensorflow-probability", "keras_tuner": "keras-tuner"}
    found = {}
    for key, distribution in packages.items():
        try:
            found[key] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            found[key] = None
    return found


def code_version():
    """The git commit of the bvae_tf source this process runs, or None outside a checkout.

    Returns:
        dict `{"commit": 40 hex digits, "dirty": bool}` (dirty: the package's tracked files
        differ from that commit), or None when the package is not in a git checkout.
    """
    root = pathlib.Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None

    def git(*args):
        return subprocess.run(["git", "-C", os.fspath(root), *args], capture_output=True,
                              text=True, timeout=30, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", "bvae_tf"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def machine():
    """Returns a description of this machine for a record: CPU model, cores, platform.

    Example:
        >>> sorted(machine())
        ['cores', 'cpu', 'platform']
    """
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform()}


def cpu_model():
    """Returns the CPU's model name (`/proc/cpuinfo`'s "model name"), else `platform`'s."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def check_name(name, what="trial_name"):
    """Returns `name` if it can name one file or folder inside another; else a ValueError.

    Every path built from a name that data gives (a record's `trial_name`, an export's name)
    goes through here, so none can lead outside its folder.

    Example:
        >>> check_name("fc-beta4.0-seed0")
        'fc-beta4.0-seed0'
        >>> check_name("../../escape")
        Traceback (most recent call last):
        ...
        ValueError: trial_name '../../escape' is not a plain name: it must be one folder or file name (no '/', '\\', '..', or leading '.'), as `bvae_tf.results.trial_name` makes.
    """
    if (not isinstance(name, str) or not name or name.startswith(".") or "/" in name
            or "\\" in name or "\0" in name or len(name) > 200):
        raise ValueError(f"{what} {name!r} is not a plain name: it must be one folder or file "
                         "name (no '/', '\\', '..', or leading '.'), as "
                         "`bvae_tf.results.trial_name` makes.")
    return name


def model_dir(results_dir, study, name):
    """Returns `<results_dir>/models/<study>/<name>`: a trial's model, history and logs."""
    _check_study(study)
    return pathlib.Path(results_dir) / "models" / study / check_name(name)


# The longest file a trial writes below `saved_models/<entry>/<trial>/`: TensorFlow's
# temporary shard inside the export's staging folder (`bvae_tf.export`).
_LONGEST_EXPORT_FILE = (".2-4194304-0123abcd", "saved_model", "variables", "variables_temp",
                        "part-00000-of-00001.data-00000-of-00001")


def prepare_trial_dirs(results_dir, study, entry, name):
    """Creates the folders a trial writes into and checks its paths fit, before it trains.

    A regular file where a folder goes, or a results path so long that the exported
    encoder's files would pass the file system's limits, is found here, not after hours of
    training.

    Raises:
        ValueError: naming the file in the way, or the length and the limit.
    """
    results_dir = pathlib.Path(results_dir)
    folders = (model_dir(results_dir, study, name), results_dir / "saved_models" / entry,
               record_path(results_dir, study, name).parent)
    longest = (results_dir / "saved_models" / entry / name).joinpath(
        *_LONGEST_EXPORT_FILE).absolute()
    existing = next(parent for parent in longest.parents if parent.exists())
    try:
        path_max = os.pathconf(existing, "PC_PATH_MAX")
        name_max = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # not POSIX: the common limits
        path_max, name_max = 4096, 255
    too_long = [part for part in longest.parts if len(os.fsencode(part)) > name_max]
    if len(os.fsencode(longest)) >= path_max or too_long:
        raise ValueError(
            f"--results {results_dir}: the trial's files would have paths of "
            f"{len(os.fsencode(longest))} bytes (limit {path_max - 1}) or names over "
            f"{name_max} bytes: choose a shorter results path. Nothing was trained.")
    for folder in folders:
        blocker = next(path for path in (folder, *folder.parents) if path.exists())
        if not blocker.is_dir():
            raise ValueError(
                f"Cannot create {folder}: {blocker} is a file, not a folder. Move it away or "
                "choose another --results. Nothing was trained.")
        folder.mkdir(parents=True, exist_ok=True)


def relative_path(path, results_dir):
    """Returns `path` relative to `results_dir`, POSIX style (what records store)."""
    return pathlib.Path(path).resolve().relative_to(pathlib.Path(results_dir).resolve()).as_posix()


def _atomic_write_text(path, text):
    """Writes `text` to a temporary file beside `path`, then renames it over `path`.

    The file is created as `open` would create it (mode 0666 less the umask: 0644 by
    default), so a results directory shared between users stays readable to them.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path, obj):
    """Writes `obj` as JSON to `path` atomically (temporary file + `os.replace`); returns path."""
    return _atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")


def _check_study(study):
    if study not in STUDIES:
        raise ValueError(f"Unknown study {study!r}: expected one of {STUDIES}.")


def record_path(results_dir, study, name):
    """Returns `<results_dir>/records/<study>/<name>.json` (a `pathlib.Path`)."""
    _check_study(study)
    return pathlib.Path(results_dir) / "records" / study / f"{check_name(name)}.json"


def write_record(results_dir, record):
    """Writes one trial record atomically (temporary file + `os.replace`).

    Args:
        results_dir: str or path, the results directory.
        record: dict following the record schema; must hold at least `study`,
            `trial_name`, `entry`, `beta` and `seed`, and be JSON-serialisable.

    Returns:
        `pathlib.Path` of the written record.

    Raises:
        ValueError: if a required key is missing or the study is unknown.

    Example:
        >>> import tempfile
        >>> write_record(tempfile.mkdtemp(), {"study": "shapes", "trial_name": "fc-beta0.0-seed0",
        ...     "entry": "fc", "beta": 0.0, "seed": 0}).name
        'fc-beta0.0-seed0.json'
    """
    missing = [key for key in REQUIRED_KEYS if key not in record]
    if missing:
        raise ValueError(f"The record lacks the keys {missing}: every record needs "
                         f"{list(REQUIRED_KEYS)}.")
    return atomic_write_json(record_path(results_dir, record["study"], record["trial_name"]),
                             record)


def load_record(path):
    """Reads one record file; a truncated or invalid file raises a ValueError naming it.

    Args:
        path: str or path of a record JSON file.

    Returns:
        dict, the record.

    Raises:
        ValueError: if the file is not valid JSON or lacks required keys.
    """
    path = pathlib.Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"Corrupted record {path}: {error}. Records are written atomically, "
                         "so this file was damaged outside bvae_tf; delete it and rerun the "
                         "sweep to redo that trial.") from error
    if not isinstance(record, dict) or any(key not in record for key in REQUIRED_KEYS):
        raise ValueError(f"Invalid record {path}: expected a JSON object with the keys "
                         f"{list(REQUIRED_KEYS)}; delete it and rerun the sweep to redo it.")
    problem = _record_problem(record)
    if problem:
        raise ValueError(f"Invalid record {path}: {problem}. bvae-tf never writes such a "
                         "record: delete it and rerun the sweep to redo that trial.")
    try:
        check_name(record["trial_name"])
    except ValueError as error:
        raise ValueError(f"Invalid record {path}: {error} bvae-tf never writes such a name, so "
                         "the record was edited or forged; delete it.") from None
    if path.name != f"{record['trial_name']}.json":
        raise ValueError(f"Invalid record {path}: it holds trial {record['trial_name']!r}, whose "
                         f"record is {record['trial_name']}.json; a copy under another name "
                         "would count the trial twice. Delete the copy.")
    for key in PATH_KEYS:
        problem = _path_problem(record.get(key)) if record.get(key) is not None else None
        if problem:
            raise ValueError(f"Invalid record {path}: its {key} {record[key]!r} {problem}. "
                             "bvae-tf never writes such a path, so the record was edited or "
                             "forged; delete it and rerun the sweep to redo that trial.")
    return upgrade_record(record, path)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _record_problem(record):
    """What is wrong with a record's fields (None if nothing): one check for every reader."""
    if record["study"] not in STUDIES:
        return f"study {record['study']!r} is not one of {STUDIES}"
    if not isinstance(record["entry"], str):
        return f"entry {record['entry']!r} is not a name"
    if not _is_number(record["beta"]) or not 0 <= record["beta"] < math.inf:
        return f"beta {record['beta']!r} is not a number >= 0"
    if isinstance(record["seed"], bool) or not isinstance(record["seed"], int) or \
            record["seed"] < 0:
        return f"seed {record['seed']!r} is not an int >= 0"
    fraction = record.get("fraction")
    if (fraction is None) != (record["study"] == "shapes") or (
            fraction is not None and (not _is_number(fraction) or not 0 < fraction <= 1)):
        return (f"fraction {fraction!r} is not {'null' if record['study'] == 'shapes' else 'in'}"
                f"{'' if record['study'] == 'shapes' else ' (0, 1]'} for a {record['study']} "
                "record")
    options = record.get("options", {})
    if not isinstance(options, dict) or not all(
            isinstance(key, str) and _is_number(value) and math.isfinite(value)
            for key, value in options.items()):
        return f"options {options!r:.80} is not an object of finite numbers"
    metrics = record.get("metrics", {})
    if not isinstance(metrics, dict) or not all(
            isinstance(key, str) and (value is None or _is_number(value))
            for key, value in metrics.items()):
        return f"metrics {metrics!r:.80} is not an object of numbers"
    losses = record.get("losses", {})
    if not isinstance(losses, dict) or not all(
            isinstance(losses.get(split, {}), dict) for split in ("train", "validation")):
        return f"losses {losses!r:.80} is not an object with train and validation losses"
    for key in ("epochs", "best_epoch"):
        value = record.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return f"{key} {value!r} is not an int >= 1"
    return None


def upgrade_record(record, path="a record"):
    """Returns `record` in the current schema; refuses versions this package cannot read.

    Version 1 (no `schema_version`): metric names `dci_disentanglement`, ... become `dci`,
    `dci.completeness`, ... (`docs/records.md` lists the changes).

    Raises:
        ValueError: for a newer schema version (upgrade bvae_tf) or an unknown one.

    Example:
        >>> upgrade_record({"metrics": {"dci_disentanglement": 0.5}})["metrics"]
        {'dci': 0.5}
    """
    version = record.get("schema_version", 1)
    if version == SCHEMA_VERSION:
        return record
    if version != 1:
        raise ValueError(
            f"{path} has record schema version {version!r}; this bvae_tf reads versions 1 to "
            f"{SCHEMA_VERSION}. Install the bvae_tf that wrote it (its `versions` field says "
            "which), or rerun the trial.")
    metrics = {_RENAMED_METRICS_V1.get(key, key): value
               for key, value in (record.get("metrics") or {}).items()}
    return {**record, "schema_version": SCHEMA_VERSION, "metrics": metrics}


def resolve_inside(results_dir, relative_path):
    """Joins a record's relative path (`model_path`, `encoder_path`) to its directory.

    Refuses what would lead outside `results_dir`: an absolute path, or `..` climbing
    above it. The check is on the text: symbolic links inside the directory are followed
    as they are (whoever can make them there can write there anyway).

    Args:
        results_dir: str or path, the results directory.
        relative_path: str, a path relative to it, with `/` separators.

    Returns:
        `pathlib.Path` inside `results_dir`, normalised (no `.` or `..` parts).

    Raises:
        ValueError: if `relative_path` is not a non-empty str, is absolute, or escapes.

    Example:
        >>> resolve_inside("res", "models/shapes/fc-beta1.0-seed0/model.keras").as_posix()
        'res/models/shapes/fc-beta1.0-seed0/model.keras'
        >>> resolve_inside("res", "../elsewhere/model.keras")
        Traceback (most recent call last):
        ...
        ValueError: The path '../elsewhere/model.keras' climbs out of the results directory ...
    """
    problem = _path_problem(relative_path)
    if problem:
        raise ValueError(f"The path {relative_path!r} {problem} (results directory: "
                         f"{results_dir}). Records hold paths inside it, relative to it: fix "
                         "or delete the record that holds this one.")
    return pathlib.Path(results_dir) / os.path.normpath(relative_path)


def _path_problem(relative_path):
    """Why `relative_path` cannot be joined to a results directory, or None if it can."""
    if not isinstance(relative_path, str) or not relative_path.strip():
        return "is not a path: expected a non-empty str relative to the results directory"
    normalised = os.path.normpath(relative_path)
    if os.path.isabs(normalised):
        return "is absolute: it must be relative to the results directory"
    if normalised == os.pardir or normalised.startswith(os.pardir + os.sep):
        return "climbs out of the results directory with '..'"
    return None


def record_exists(results_dir, study, name):
    """Returns whether the record of trial `name` of `study` exists (without reading it)."""
    return record_path(results_dir, study, name).is_file()


def read_records(results_dir, study=None):
    """Reads every record of a results directory, sorted by study and trial name.

    Args:
        results_dir: str or path, an existing results directory.
        study: None (all studies) or one of `STUDIES`.

    Returns:
        list of record dicts (empty when nothing has finished yet).

    Raises:
        FileNotFoundError: if `results_dir` does not exist.
        ValueError: if a record is corrupted (its path is named) or `study` is unknown.
    """
    results_dir = pathlib.Path(results_dir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"No results directory at {results_dir}: run `bvae-tf sweep "
                                "--results DIR` first, or check the path.")
    studies = STUDIES if study is None else (study,)
    records = []
    for name in studies:
        _check_study(name)
        for path in sorted((results_dir / "records" / name).glob("[!.]*.json")):
            records.append(load_record(path))
    return records


def sweep_config(profile_config, shapes_split_seed):
    """The `config.json` of a results directory: the profile and the shapes split seed.

    Example:
        >>> sweep_config({"name": "quick"}, 0)
        {'profile': {'name': 'quick'}, 'shapes_split_seed': 0}
    """
    return {"profile": profile_config, "shapes_split_seed": int(shapes_split_seed)}


def read_config(results_dir):
    """Reads `config.json` (see `sweep_config`); an empty dict if there is none.

    Raises:
        ValueError: if `config.json` cannot be parsed or lacks its `profile`.

    Example:
        >>> import tempfile
        >>> directory = tempfile.mkdtemp()
        >>> read_config(directory)
        {}
        >>> _ = check_config(directory, sweep_config({"name": "quick"}, 0))
        >>> read_config(directory)["profile"]["name"]
        'quick'
    """
    path = pathlib.Path(results_dir) / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"Corrupted {path}: {error}. Restore it, or delete it to report "
                         "from the records alone.") from None
    if not isinstance(config, dict) or not isinstance(config.get("profile"), dict):
        raise ValueError(  # noqa: TRY004 (a bad file, not a bad argument)
            f"{path} has no 'profile' object: it was not written by a bvae-tf sweep. Delete "
            "it to report from the records alone.")
    return config


def check_config(results_dir, config):
    """Writes `config.json` on the first run; refuses a different configuration later.

    Args:
        results_dir: str or path, the results directory (created if missing).
        config: JSON-serialisable dict describing what produced the results.

    Returns:
        `pathlib.Path` of `config.json`.

    Raises:
        ValueError: if `config.json` holds a different configuration (the differing keys
            are named) or cannot be read.

    Example:
        >>> import tempfile
        >>> directory = tempfile.mkdtemp()
        >>> _ = check_config(directory, {"max_epochs": 2})
        >>> check_config(directory, {"max_epochs": 3})
        Traceback (most recent call last):
        ...
        ValueError: ...
    """
    config = json.loads(json.dumps(config))
    path = pathlib.Path(results_dir) / CONFIG_FILE
    if not path.exists():
        return atomic_write_json(path, config)
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"Corrupted {path}: {error}; use a new results directory.") from None
    if not isinstance(stored, dict):
        raise ValueError(  # noqa: TRY004 (a bad file, not a bad argument)
            f"Corrupted {path}: it holds {type(stored).__name__}, not the object "
                         "a sweep writes; use a new results directory.")
    differing = _differing_keys(stored, config)
    if differing:
        raise ValueError(
            f"{results_dir} was made by a different configuration: the keys {differing} "
            f"differ from {path}. Use a new results directory (--results) for this configuration, "
            "or rerun with the configuration that made it.")
    return path


def _differing_keys(stored, config, prefix=""):
    differing = []
    for key in sorted(set(stored) | set(config)):
        old, new = stored.get(key), config.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            differing += _differing_keys(old, new, prefix=f"{prefix}{key}.")
        elif key not in stored or key not in config or old != new:
            differing.append(f"{prefix}{key}")
    return differing


def records_table(records):
    """Flattens records into rows: study, entry, fraction, beta, seed, epochs, losses, metrics.

    Args:
        records: list of record dicts (as returned by `read_records`).

    Returns:
        list of flat dicts sorted by study, entry, fraction, options, beta and seed; losses
        are named `train_loss`, `val_reconstruction_loss`, ..., metrics by their own names
        and a record's `options` `option.<name>` (after `fraction`; only where records have
        them).

    Example:
        >>> records_table([{"study": "shapes", "entry": "fc", "beta": 1.0, "seed": 0,
        ...                 "metrics": {"mig": 0.1}}])[0]["mig"]
        0.1
    """
    rows = []
    for record in records:
        row = {key: record.get(key) for key in _LEADING_COLUMNS[:3]}
        row.update({OPTION_PREFIX + name: value
                    for name, value in sorted((record.get("options") or {}).items())})
        row.update({key: record.get(key) for key in _LEADING_COLUMNS[3:]})
        losses = record.get("losses") or {}
        for split, prefix in (("train", "train_"), ("validation", "val_")):
            for name in _LOSS_NAMES:
                row[prefix + name] = (losses.get(split) or {}).get(name)
        row.update(_named_factor_keys(record))
        rows.append(row)
    return sorted(rows, key=lambda row: (row["study"], row["entry"], row["fraction"] or 0.0,
                                         option_values(row), row["beta"], row["seed"]))


def option_values(row):
    """A row's options as sorted (name, value) pairs: `()` for a trial without any.

    Example:
        >>> option_values({"entry": "fc_beta_tcvae", "option.tc_weight": 2.0, "beta": 1.0})
        (('tc_weight', 2.0),)
    """
    return tuple(sorted((key[len(OPTION_PREFIX):], value) for key, value in row.items()
                        if key.startswith(OPTION_PREFIX) and value is not None))


def _named_factor_keys(record):
    """A record's metrics, shapes' per-factor keys by index renamed by factor name.

    Example:
        >>> _named_factor_keys({"study": "shapes", "metrics": {"mig.factor_1": 0.5}})
        {'mig.pos_x': 0.5}
    """
    metrics = record.get("metrics") or {}
    if record.get("study") != "shapes":
        return dict(metrics)
    named = {}
    for key, value in metrics.items():
        match = _INDEXED_FACTOR_KEY.match(key)
        if match:
            metric, index, rest = match.groups()
            key = f"{metric}.{_SHAPES_FACTOR_NAMES[int(index)]}{rest}"
        named[key] = value
    return named


def _columns(rows):
    columns = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    return columns


def write_csv(rows, path):
    """Writes table rows (from `records_table`) to a CSV file; returns its path."""
    columns = _columns(rows)
    text_rows = [{key: "" if row.get(key) is None else row[key] for key in columns}
                 for row in rows]
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(text_rows)
    return path


def format_table(rows):
    """Returns the rows as one aligned text table (numbers to 4 significant digits)."""
    if not rows:
        return "(no finished trials)"
    columns = _columns(rows)

    def text(value):
        if value is None:
            return "-"
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    cells = [[text(row.get(key)) for key in columns] for row in rows]
    widths = [max(len(key), *(len(line[i]) for line in cells)) for i, key in enumerate(columns)]
    lines = ["  ".join(key.ljust(width) for key, width in zip(columns, widths))]
    lines += ["  ".join(cell.rjust(width) for cell, width in zip(line, widths)) for line in cells]
    return "\n".join(lines)
