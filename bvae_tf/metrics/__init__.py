"""Disentanglement metrics of an encoder on ground-truth data.

Each metric is a pure function `metric(data, encode_fn, random_state, **options) ->
dict[str, float]`: `data` is ground-truth data (`bvae_tf.data.ground_truth.GroundTruthData`:
`num_factors`, `factors_num_values`, `factor_names`, `sample_factors`,
`sample_observations_from_factors`, `images_of`; `bvae_tf.data.shapes.load()`,
`bvae_tf.data.dsprites.load()`, `bvae_tf.data.shapes3d.load()` or your own), `encode_fn`
maps float32 images (N, *data.observation_shape) to encoder means (N, latent_dim) (a
model's `encode` or `bvae_tf.export.load_encoder(path)`). Every number a metric returns is
prefixed with its metric's name: the main number under the plain name (`beta_vae`,
`factor_vae`, `mig`, `dci`, `sap`), the others as `<metric>.<what>` (`dci.completeness`),
per-factor numbers as `<metric>.<factor name>` (`mig.pos_x`).

Modules are named after their metric (`beta_vae`, `factor_vae`, `mig`, `dci`, `sap`).
Where the module and its function share a name, the package attribute is the function
(`from bvae_tf.metrics import mig` gives the function); reach the module itself with
`importlib.import_module("bvae_tf.metrics.mig")` (`import bvae_tf.metrics.mig as m`
reads the package attribute, and so gives the function).

Example:
    >>> from bvae_tf import export, metrics
    >>> from bvae_tf.data import shapes
    >>> scores = metrics.compute(  # doctest: +SKIP
    ...     ["beta_vae", "mig"], shapes.load(), export.load_encoder("saved/conv/1"), 0)
    >>> sorted(scores)[:2]  # doctest: +SKIP
    ['beta_vae', 'beta_vae.epochs']
"""

import inspect

from bvae_tf.metrics.beta_vae import PEYCHEV2017_STOPPING, PROTOCOLS, beta_vae_score
from bvae_tf.metrics.dci import dci
from bvae_tf.metrics.factor_vae import factor_vae_score
from bvae_tf.metrics.mig import mig
from bvae_tf.metrics.sap import sap

METRICS = {
    "beta_vae": beta_vae_score,
    "factor_vae": factor_vae_score,
    "mig": mig,
    "dci": dci,
    "sap": sap,
}

__all__ = [
    "METRICS",
    "PEYCHEV2017_STOPPING",
    "PROTOCOLS",
    "beta_vae_score",
    "compute",
    "dci",
    "factor_vae_score",
    "mig",
    "parse_names",
    "sap",
]


def parse_names(names):
    """Metric names from a list or a comma-separated string, checked against METRICS.

    Args:
        names: str ("beta_vae,mig") or iterable of str.

    Returns:
        list of str, in the given order, without repeats.

    Raises:
        ValueError: for an empty selection or an unknown name.

    Example:
        >>> parse_names("mig, beta_vae")
        ['mig', 'beta_vae']
    """
    if isinstance(names, str):
        names = names.split(",")
    names = list(dict.fromkeys(name.strip() for name in names if name.strip()))
    unknown = [name for name in names if name not in METRICS]
    if unknown or not names:
        raise ValueError(
            f"Unknown metric names {unknown}: choose among {list(METRICS)}." if unknown else
            f"No metric selected: choose among {list(METRICS)}."
        )
    return names


def _options_of(function):
    parameters = list(inspect.signature(function).parameters)
    return set(parameters[3:])


def compute(names, data, encode_fn, random_state, **options):
    """Runs several metrics and merges their dictionaries.

    A keyword option goes to every selected metric that takes an argument of that name
    (`num_train=1000` shrinks them all; `protocol="higgins2017"` reaches beta_vae only);
    an option named after a metric holds a dict for that metric alone
    (`dci={"importance_model": "random_forest"}`), applied last. An int `random_state`
    gives every metric the same seed, so each number equals the metric run alone; a
    `np.random.RandomState` is shared and drawn from in turn.

    Args:
        names: str or iterable of str, keys of `METRICS` (e.g. "beta_vae,mig").
        data: ground-truth data, e.g. `bvae_tf.data.shapes.load()`.
        encode_fn: callable, float32 images (N, *data.observation_shape) -> means
            (N, latent_dim).
        random_state: int, np.random.RandomState or None.
        **options: keyword options of the metrics, or per-metric dicts.

    Returns:
        dict[str, float]: every metric's numbers.

    Raises:
        ValueError: for an unknown metric name, an option that no selected metric takes,
            or any metric's own error.

    Example:
        >>> compute("mig", data, encode_fn, 0, num_train=2_000)  # doctest: +SKIP
        {'mig': 0.95, ...}
    """
    names = parse_names(names)
    specific = {name: dict(options.pop(name)) for name in names if name in options}
    unused = set(options) - set().union(*(_options_of(METRICS[name]) for name in names))
    unused |= {f"{name}={{{key!r}: ...}}" for name, given in specific.items()
               for key in set(given) - _options_of(METRICS[name])}
    if unused:
        raise ValueError(
            f"No selected metric ({names}) takes the options {sorted(unused)}; the options of "
            "each are in its docstring, e.g. help(bvae_tf.metrics.mig)."
        )
    results = {}
    for name in names:
        function = METRICS[name]
        accepted = _options_of(function)
        arguments = {key: value for key, value in options.items() if key in accepted}
        arguments.update(specific.get(name, {}))
        results.update(function(data, encode_fn, random_state, **arguments))
    return results
