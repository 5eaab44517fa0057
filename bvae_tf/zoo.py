"""The model zoo: the paper's six beta-VAEs and their successors as one table.

`ENTRIES` is the only place that states what an entry is: its dataset, architecture, layer
sizes, latent size, learning-rate rule and where each number comes from. Every other module
(profiles, trial runner, reports, CLI help) reads `NAMES`, `entry(name)` or `names(dataset)`.
Sources: "paper" is Peychev, Velickovic and Lio (2017); "authors' code" is
github.com/mpeychev/disentangled-autoencoders (`get_autoencoder.py`, `run_experiments.py`),
read line by line in `docs/protocol.md`.

| entry            | data   | architecture | latent | denoising |
| ---------------- | ------ | ------------ | ------ | --------- |
| `fc`             | shapes | fc           | 10     | no        |
| `conv`           | shapes | conv         | 10     | no        |
| `fc_denoising`   | shapes | fc           | 10     | yes       |
| `conv_denoising` | shapes | conv         | 10     | yes       |
| `mnist_fc`       | mnist  | fc           | 16     | no        |
| `mnist_conv`     | mnist  | conv         | 16     | no        |

`NAMES` are the paper's entries, one constructor each; `names(dataset)` lists them. Beside
them, `OBJECTIVE_NAMES`: the shapes `fc` and `conv` nets trained by the field's other
objectives (`<architecture>_<objective>`: `beta_tcvae`, `dip_vae_i`, `dip_vae_ii`,
`annealed_vae`, `factor_vae`; classes in `bvae_tf.models`). They are built by
`build(name)` and `get(name)` like the paper's, but join no reproduction profile, reference
study or paper card.

Defaults: every entry has the paper's sizes, latent size, learning-rate rule and Adam
epsilon, but two of batch norm's settings are Keras' (`BetaVAE`'s defaults): momentum 0.99
(the authors': 0.999) and validation on the moving averages (the authors' validation loss
used the batch's own statistics). `**AUTHORS_CHOICES` gives the authors' in one line, as the
paper profile trains; at 0.999 the moving averages, which `encode` and the exported encoder
use, need thousands of steps to settle, so short runs do better with Keras' 0.99.

Example:
>>> from bvae_tf import zoo
>>> model = zoo.fc(beta=4.0, seed=0)
>>> model.latent_dim, model.beta, round(float(model.optimizer.learning_rate), 6)
(10, 4.0, 0.001)
>>> zoo.entry("mnist_conv").dataset, zoo.names("mnist")
('mnist', ('mnist_fc', 'mnist_conv'))
>>> authors = zoo.fc(beta=4.0, **zoo.AUTHORS_CHOICES)
>>> authors.batch_norm_momentum, authors.validation_statistics
(0.999, 'batch_statistics')
>>> rgb = zoo.conv(image_shape=(32, 32, 3), likelihood="gaussian")
>>> rgb.decoder_reshape, rgb.likelihood
((4, 4, 64), 'gaussian')
"""

import dataclasses
import functools
import inspect
import math
import numbers
import types

DATASETS = ("shapes", "mnist")
# `tf.train.AdamOptimizer`'s default epsilon (authors' code); Keras' default is 1e-7.
ADAM_EPSILON = 1e-8
# The authors' model settings where `BetaVAE`'s defaults are Keras' (docs/protocol.md,
# Departures): batch norm's decay 0.999 (Keras 0.99), and validation on the batch's
# statistics (their validation ran the training graph). `zoo.fc(**AUTHORS_CHOICES)`.
AUTHORS_CHOICES = types.MappingProxyType(
    {"batch_norm_momentum": 0.999, "validation_statistics": "batch_statistics"}
)


@dataclasses.dataclass(frozen=True)
class ZooEntry:
    """One model of the zoo: everything needed to build it, with the source of each number.

    Attributes:
        name: str, the entry's name (a key of `ENTRIES`).
        dataset: str, "shapes" or "mnist": what it trains on.
        architecture: str, "fc" or "conv" (`bvae_tf.models.BetaVAE`'s families).
        denoising: bool, trained on (salt-and-pepper inputs, clean targets).
        image_shape: tuple (height, width, channels).
        latent_dim: int, size of the code.
        layers: dict of `BetaVAE` size arguments (`encoder_units`, `decoder_units`, and for
            "conv" `encoder_filters`, `decoder_reshape`, `decoder_filters`, `output_strides`).
        learning_rate: float, Adam's learning rate.
        beta_zero_learning_rate: float or None, the learning rate at beta = 0 if different.
        sources: dict, field name -> where its value comes from.
        model_class: str, the `bvae_tf.models` class built. Defaults to "BetaVAE".
        model_options: dict, that class's own arguments (its objective's). Defaults to {}.
    """

    name: str
    dataset: str
    architecture: str
    denoising: bool
    image_shape: tuple
    latent_dim: int
    layers: dict
    learning_rate: float
    beta_zero_learning_rate: float | None
    sources: dict
    model_class: str = "BetaVAE"
    model_options: dict = dataclasses.field(default_factory=dict)

    def learning_rate_at(self, beta):
        """Returns the paper's learning rate for this entry at `beta`.

        Example:
            >>> entry("fc").learning_rate_at(0.0), entry("mnist_fc").learning_rate_at(0.0)
            (3e-05, 0.001)
        """
        if beta == 0 and self.beta_zero_learning_rate is not None:
            return self.beta_zero_learning_rate
        return self.learning_rate

    def model_config(self):
        """Returns the `BetaVAE` keyword arguments that build this entry (beta and seed aside)."""
        return {"architecture": self.architecture, "image_shape": self.image_shape,
                "latent_dim": self.latent_dim, "denoising": self.denoising, **self.layers}

    def hyperparameters(self):
        """Returns what a sweep may set besides beta: the class's own numeric arguments.

        The arguments `model_class` adds to `BetaVAE`'s, with this entry's values (its
        `model_options`, else the class's defaults); the paper's entries have none.

        Example:
            >>> entry("fc_beta_tcvae").hyperparameters()
            {'tc_weight': 5.0, 'dataset_size': 186915}
            >>> entry("fc").hyperparameters()
            {}
        """
        from bvae_tf import models

        inherited = inspect.signature(models.BetaVAE).parameters
        own = {name: parameter.default for name, parameter in
               inspect.signature(getattr(models, self.model_class)).parameters.items()
               if name not in inherited and parameter.kind is not parameter.VAR_KEYWORD}
        values = {name: self.model_options.get(name, default) for name, default in own.items()}
        return {name: value for name, value in values.items() if _is_number(value)}

    def check_options(self, options):
        """Returns `options` (hyperparameter -> value) checked, cast to each one's type.

        Floats must be finite and >= 0, ints whole and >= 1 (the family's weights, rates,
        capacities and counts); the class checks the rest when it is built.

        Example:
            >>> entry("fc_beta_tcvae").check_options({"tc_weight": 2})
            {'tc_weight': 2.0}

        Raises:
            ValueError: a name `hyperparameters()` lacks (the message lists them), or a bad
                value.
        """
        own = self.hyperparameters()
        unknown = sorted(name for name in options if name not in own)
        if unknown:
            takes = (f"its own are {', '.join(f'{name} (default {value!r})' for name, value in own.items())}"
                     if own else "it has none besides beta (--betas)")
            raise ValueError(f"Zoo entry {self.name!r} ({self.model_class}) takes no "
                             f"hyperparameter {', '.join(unknown)}: {takes}.")
        return {name: _option_value(name, options[name], own[name]) for name in sorted(options)}


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _option_value(name, value, default):
    """`value` as the type of `default`: an int >= 1, or a finite float >= 0."""
    whole = isinstance(default, numbers.Integral)
    if not _is_number(value) or not math.isfinite(value) or (
            whole and (value < 1 or value != int(value))) or value < 0:
        expected = "a whole number >= 1" if whole else "a finite number >= 0"
        raise ValueError(f"{name} must be {expected} (--param {name}=VALUES); got {value!r}.")
    return int(value) if whole else float(value) + 0.0


_SHAPES_FC = {"encoder_units": (1200, 1200), "decoder_units": (1200, 1200, 1200)}
_SHAPES_CONV = {
    "encoder_filters": (16, 32), "encoder_units": (1024,), "decoder_units": (1024,),
    "decoder_reshape": (8, 8, 64), "decoder_filters": (16, 4), "output_strides": 2,
}
_MNIST_FC = {"encoder_units": (512, 512), "decoder_units": (512, 512, 512)}
_MNIST_CONV = {
    "encoder_filters": (8, 16), "encoder_units": (512,), "decoder_units": (512,),
    "decoder_reshape": (7, 7, 16), "decoder_filters": (8, 4), "output_strides": 1,
}
_SHAPES_SOURCES = {
    "image_shape": "paper, section 3: 64x64 binary images",
    "latent_dim": "paper, section 3: 10 latents",
    "learning_rate": "paper: Adam, 1e-3",
    "beta_zero_learning_rate": "paper; authors' run_experiments.go_shapes: "
                               "`lr = 0.00003 if current_beta < 1e-3 else 0.001`",
}
_MNIST_SOURCES = {
    "image_shape": "paper, section 4.2: 28x28 grey MNIST",
    "latent_dim": "paper, section 4.2; authors' get_autoencoder.mnist: 16 latents",
    "learning_rate": "authors' run_experiments.go_mnist: 1e-3 at every beta",
    "beta_zero_learning_rate": "authors' code: none (1e-3 at beta 0 too)",
}
_LAYER_SOURCES = {
    ("shapes", "fc"): "paper, section 3; authors' FcAutoencoder defaults",
    ("shapes", "conv"): "paper, section 3; authors' ConvAutoencoder(64, 10)",
    ("mnist", "fc"): "authors' get_autoencoder.mnist: "
                     "FcAutoencoder([784, 512, 512, 16], [16, 512, 512, 512, 784])",
    ("mnist", "conv"): "authors' ConvAutoencoder(28, 16)",
}


def _entry(name, dataset, architecture, denoising=False):
    layers = {("shapes", "fc"): _SHAPES_FC, ("shapes", "conv"): _SHAPES_CONV,
              ("mnist", "fc"): _MNIST_FC, ("mnist", "conv"): _MNIST_CONV}[dataset, architecture]
    shapes = dataset == "shapes"
    sources = {**(_SHAPES_SOURCES if shapes else _MNIST_SOURCES),
               "layers": _LAYER_SOURCES[dataset, architecture],
               "denoising": ("paper, section 3: salt-and-pepper inputs, clean targets" if denoising
                             else "paper: only fc_denoising and conv_denoising are trained to "
                                  "denoise")}
    return ZooEntry(
        name=name, dataset=dataset, architecture=architecture, denoising=denoising,
        image_shape=(64, 64, 1) if shapes else (28, 28, 1), latent_dim=10 if shapes else 16,
        layers=dict(layers), learning_rate=1e-3,
        beta_zero_learning_rate=3e-5 if shapes else None, sources=sources,
    )


ENTRIES = {
    entry.name: entry for entry in (
        _entry("fc", "shapes", "fc"),
        _entry("conv", "shapes", "conv"),
        _entry("fc_denoising", "shapes", "fc", denoising=True),
        _entry("conv_denoising", "shapes", "conv", denoising=True),
        _entry("mnist_fc", "mnist", "fc"),
        _entry("mnist_conv", "mnist", "conv"),
    )
}
NAMES = tuple(ENTRIES)
# The shapes training split's size: beta-TCVAE's dataset_size (`bvae_tf.data.shapes`).
_SHAPES_TRAIN_SIZE = 186_915
# objective -> (model class, its arguments, source), on the paper's shapes nets.
_OBJECTIVES = {
    "beta_tcvae": ("BetaTCVAE", {"tc_weight": 5.0, "dataset_size": _SHAPES_TRAIN_SIZE},
                   ("Chen et al. 2018, Eq. 5; tc_weight 5 = their beta 6 (disentanglement_lib); "
                    "dataset_size: the shapes train split")),
    "dip_vae_i": ("DIPVAE", {"dip_type": "i", "lambda_od": 10.0, "lambda_d": 100.0},
                  "Kumar et al. 2018, Eq. 6: lambda_d = 10 lambda_od"),
    "dip_vae_ii": ("DIPVAE", {"dip_type": "ii", "lambda_od": 10.0, "lambda_d": 10.0},
                   "Kumar et al. 2018, Eq. 7: lambda_d = lambda_od"),
    "annealed_vae": ("AnnealedVAE", {"max_capacity": 25.0, "capacity_steps": 6_400},
                     ("Burgess et al. 2018, Eq. 8: C to 25 nats over the images of their "
                      "100,000 steps of 64, i.e. 6,400 steps of the paper's batch of 1000; "
                      "their gamma is beta (1000 there)")),
    "factor_vae": ("FactorVAE", {"tc_weight": 10.0},
                   "Kim and Mnih 2018, Eq. 2; discriminator and its Adam from their Appendix"),
}


def _objective_entry(architecture, objective):
    model_class, options, source = _OBJECTIVES[objective]
    base = ENTRIES[architecture]
    return dataclasses.replace(base, name=f"{architecture}_{objective}", model_class=model_class,
                               model_options=dict(options),
                               sources={**base.sources, "model_options": source})


OBJECTIVE_ENTRIES = {item.name: item for item in (
    _objective_entry(architecture, objective)
    for objective in _OBJECTIVES for architecture in ("fc", "conv"))}
OBJECTIVE_NAMES = tuple(OBJECTIVE_ENTRIES)
ENTRIES.update(OBJECTIVE_ENTRIES)


def entry(name):
    """Returns the `ZooEntry` called `name` (in `NAMES` or `OBJECTIVE_NAMES`).

    Raises:
        ValueError: if `name` is in neither (the message lists them).
    """
    if name not in ENTRIES:
        raise ValueError(f"Unknown zoo entry {name!r}; choose one of "
                         f"{', '.join(NAMES + OBJECTIVE_NAMES)}.")
    return ENTRIES[name]


def names(dataset=None):
    """Returns the paper's entry names, in zoo order, of one dataset ("shapes", "mnist") or all.

    Raises:
        ValueError: for an unknown dataset.
    """
    if dataset is None:
        return NAMES
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}: expected one of {DATASETS}.")
    return tuple(name for name in NAMES if ENTRIES[name].dataset == dataset)


def build(name, beta=1.0, *, latent_dim=None, image_shape=None, seed=0, learning_rate="auto",
          precision="auto", jit_compile="auto", batch_size=1000, **model_options):
    """Returns zoo entry `name` as a compiled `BetaVAE`: the paper's sizes, Keras' batch norm.

    The entry's sizes, latent size, learning-rate rule and Adam epsilon are the paper's;
    batch norm's momentum (0.99) and validation statistics ("moving_averages") are Keras'
    unless given: pass `**AUTHORS_CHOICES` for the authors' (0.999, "batch_statistics").

    Args:
        name: str, a name in `NAMES` or `OBJECTIVE_NAMES`.
        beta: float >= 0, weight of the KL term (AnnealedVAE: of |KL - C|). Defaults to 1.0.
        latent_dim: int or None: the entry's (paper) when None.
        image_shape: (height, width, channels) or None: the entry's (paper) when None. Any
            shape for "fc" entries; for "conv" entries, height and width must be multiples
            of the decoder's upsampling (8 for shapes' conv, 4 for mnist_conv), the
            decoder's grid being derived from them (`BetaVAE`'s `decoder_reshape`).
        seed: int or None, seeds initializers and sampling. Defaults to 0.
        learning_rate: float or "auto": the entry's rule (`ZooEntry.learning_rate_at`).
        precision: "float32", "mixed_bfloat16" or "auto": the fastest on this machine if it
            has been measured (`bvae-tf speed`, or any trial: `bvae_tf.trial.run_trial`
            measures before it builds), else float32; a constructor never measures
            (`bvae_tf.speed.resolve`; `$BVAE_TF_PRECISION` overrides, and a global Keras
            policy such as `keras.mixed_precision.set_global_policy("mixed_bfloat16")` is
            followed, or refused with a ValueError if a model cannot compute in it).
        jit_compile: bool or "auto": XLA where it measured faster here, else off
            (`bvae_tf.speed`; `$BVAE_TF_JIT_COMPILE` overrides).
        batch_size: int, the batch the model will train at: what "auto" is measured at.
            Defaults to 1000 (the paper's).
        **model_options: further arguments of the entry's class, replacing the entry's (e.g.
            `likelihood="gaussian"`, `batch_norm_momentum`, `tc_weight`).

    Returns:
        A compiled `bvae_tf.models.BetaVAE` (or the entry's subclass: `model_class`), with
        Adam and TensorFlow's fused update (`bvae_tf.speed.Adam`), its optimizer built so
        that a model saved before training loads its optimizer state cleanly.

    Raises:
        ValueError: unknown entry, negative beta, an image shape the entry cannot take (the
            message says why), or an argument `BetaVAE` refuses.
    """
    from bvae_tf import models, speed

    item = entry(name)
    if learning_rate != "auto" and (
            isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float))
            or not 0 < learning_rate < math.inf):
        raise ValueError(f"learning_rate must be 'auto' (the entry's rule) or a number > 0; "
                         f"got {learning_rate!r}.")
    config = item.model_config()
    if latent_dim is not None:
        config["latent_dim"] = latent_dim
    paper = isinstance(image_shape, (tuple, list)) and tuple(image_shape) == item.image_shape
    if image_shape is not None and not paper:
        config["image_shape"] = image_shape
        if item.architecture == "conv":  # the channels: BetaVAE derives the grid's size
            config["decoder_reshape"] = config["decoder_reshape"][-1]
    config.update(model_options)
    precision, jit_compile = speed.resolve(config, batch_size, precision, jit_compile,
                                           measure_missing=False)
    model = getattr(models, item.model_class)(beta=beta, seed=seed, precision=precision,
                                              **{**item.model_options, **config})
    if learning_rate == "auto":
        learning_rate = item.learning_rate_at(model.beta)
    model.compile(optimizer=speed.Adam(learning_rate=learning_rate, epsilon=ADAM_EPSILON),
                  jit_compile=jit_compile)
    model.optimizer.build(model.trainable_variables)
    return model


def fc(beta=1.0, **options):
    """The paper's fully connected shapes beta-VAE, compiled (options as `build`).

    The paper's sizes and learning rates; batch norm as Keras' unless
    `**AUTHORS_CHOICES` is passed (see `build`). Another `image_shape` changes the input
    and output layers only.

    Encoder 4096 -> 1200 -> 1200 -> 10 (+ 10 log variances), decoder 10 -> 1200 -> 1200
    -> 1200 -> 4096 logits (paper; authors' `FcAutoencoder` defaults). Learning rate 1e-3,
    3e-5 at beta = 0 (paper).
    """
    return build("fc", beta, **options)


def conv(beta=1.0, **options):
    """The paper's convolutional shapes beta-VAE, compiled (options as `build`).

    The paper's sizes and learning rates; batch norm as Keras' unless
    `**AUTHORS_CHOICES` is passed (see `build`). Another `image_shape` (height and width
    multiples of 8) changes the decoder's grid, e.g. (32, 32, 3) -> 4x4x64.

    Encoder conv 3x3/2 16 -> conv 3x3/2 32 -> 1024 -> 10; decoder 1024 -> 4096 = 8x8x64 ->
    convT 3x3/2 16 -> convT 3x3/2 4 -> convT 3x3/2 1 (paper; authors' `ConvAutoencoder(64, 10)`).
    """
    return build("conv", beta, **options)


def fc_denoising(beta=1.0, **options):
    """`fc` trained to denoise: fit it on (salt-and-pepper inputs, clean targets) (paper).

    Build the data with `bvae_tf.data.pipeline.make_dataset(split, noise=True)`.
    """
    return build("fc_denoising", beta, **options)


def conv_denoising(beta=1.0, **options):
    """`conv` trained to denoise (paper); data as for `fc_denoising`, options as `build`."""
    return build("conv_denoising", beta, **options)


def mnist_fc(beta=1.0, **options):
    """The paper's fully connected MNIST beta-VAE, compiled (options as `build`).

    Encoder 784 -> 512 -> 512 -> 16, decoder 16 -> 512 -> 512 -> 512 -> 784 (authors'
    `get_autoencoder.mnist`); learning rate 1e-3 at every beta (authors' code).
    """
    return build("mnist_fc", beta, **options)


def mnist_conv(beta=1.0, **options):
    """The paper's convolutional MNIST beta-VAE, compiled (options as `build`).

    Encoder conv 3x3/2 8 -> conv 3x3/2 16 -> 512 -> 16; decoder 512 -> 784 = 7x7x16 ->
    convT 3x3/2 8 -> convT 3x3/2 4 -> convT 3x3/1 1 (authors' `ConvAutoencoder(28, 16)`).
    """
    return build("mnist_conv", beta, **options)


def get(name):
    """Returns the constructor of zoo entry `name` (`get("fc") is fc`).

    An entry of `OBJECTIVE_NAMES` has no function of its own: its constructor is `build`
    with the name filled in.

    Example:
        >>> get("fc_dip_vae_ii").args
        ('fc_dip_vae_ii',)

    Raises:
        ValueError: if `name` is in neither `NAMES` nor `OBJECTIVE_NAMES`.
    """
    item = entry(name)
    if item.name in OBJECTIVE_ENTRIES:
        return functools.partial(build, item.name)
    return globals()[item.name]


__all__ = ["AUTHORS_CHOICES", "ENTRIES", "NAMES", "OBJECTIVE_ENTRIES", "OBJECTIVE_NAMES",
           "ZooEntry", "build", "conv", "conv_denoising", "entry", "fc", "fc_denoising", "get",
           "mnist_conv", "mnist_fc", "names"]
