"""The model zoo: the paper's six beta-VAEs, compiled with the paper's defaults.

Each entry is a function that only chooses `BetaVAE` arguments and compiles the model;
none subclasses. Sources of the defaults: "paper" is Peychev, Velickovic and Lio (2017);
"authors' code" is github.com/mpeychev/disentangled-autoencoders (`get_autoencoder.py`,
`run_experiments.py`), read line by line in DESIGN.md section 2.

| entry            | data   | architecture | latent | denoising |
| ---------------- | ------ | ------------ | ------ | --------- |
| `fc`             | shapes | fc           | 10     | no        |
| `conv`           | shapes | conv         | 10     | no        |
| `fc_denoising`   | shapes | fc           | 10     | yes       |
| `conv_denoising` | shapes | conv         | 10     | yes       |
| `mnist_fc`       | mnist  | fc           | 16     | no        |
| `mnist_conv`     | mnist  | conv         | 16     | no        |

Example:
>>> from bvae_tf import zoo
>>> model = zoo.get("fc")(beta=4.0, seed=0)
>>> model.latent_dim, model.beta, round(float(model.optimizer.learning_rate), 6)
(10, 4.0, 0.001)
>>> zoo.dataset_of("mnist_conv")
'mnist'
"""

import keras

from bvae_tf.models import BetaVAE

NAMES = ("fc", "conv", "fc_denoising", "conv_denoising", "mnist_fc", "mnist_conv")

# Adam, learning rate 1e-3 (paper); 3e-5 for the shapes models at beta = 0 (paper; authors'
# `run_experiments.go_shapes`: `lr = 0.00003 if current_beta < 1e-3 else 0.001`).
LEARNING_RATE = 1e-3
SHAPES_BETA_ZERO_LEARNING_RATE = 3e-5
# `tf.train.AdamOptimizer`'s default epsilon (authors' code); Keras' default is 1e-7.
ADAM_EPSILON = 1e-8
# XLA per architecture, measured on 2 free CPU cores at the paper's batch of 1000
# (BENCHMARKS.md, "Training throughput"): it fuses batch norm, activations, loss and Adam's
# update, 1.9x faster for fc; its CPU convolutions are slower than oneDNN's, 1.4x slower
# for conv. (On a core shared with another job both looked faster with XLA.)
XLA_BY_ARCHITECTURE = {"fc": True, "conv": False}

_SHAPES = {"image_shape": (64, 64, 1), "latent_dim": 10}  # paper: 64x64 binary, 10 latents
_MNIST = {"image_shape": (28, 28, 1), "latent_dim": 16}  # paper: 28x28 grey, 16 latents
# Authors' `get_autoencoder.mnist`: FcAutoencoder([784, 512, 512, 16], [16, 512, 512, 512, 784]).
_MNIST_FC = {"encoder_units": (512, 512), "decoder_units": (512, 512, 512)}
_MNIST_CONV = {  # authors' ConvAutoencoder(28, 16)
    "encoder_filters": (8, 16), "encoder_units": (512,), "decoder_units": (512,),
    "decoder_reshape": (7, 7, 16), "decoder_filters": (8, 4), "output_strides": 1,
}


def fc(beta=1.0, latent_dim=None, seed=0, learning_rate="auto", jit_compile="auto"):
    """The paper's fully connected shapes beta-VAE, compiled.

    Encoder 4096 -> 1200 -> 1200 -> 10 (+ 10 log variances), decoder 10 -> 1200 -> 1200
    -> 1200 -> 4096 logits (paper; authors' `FcAutoencoder` defaults).

    Args:
        beta: float >= 0, weight of the KL term. Defaults to 1.0.
        latent_dim: int or None. Defaults to None: 10 (paper).
        seed: int or None, seeds initializers and sampling. Defaults to 0.
        learning_rate: float or "auto": 1e-3, or 3e-5 at beta = 0 (paper; authors' code).
        jit_compile: bool or "auto": XLA if it measured faster for the architecture
            (`XLA_BY_ARCHITECTURE`: on for fc, off for conv).

    Returns:
        A compiled `bvae_tf.models.BetaVAE`.
    """
    return _shapes_model("fc", False, beta, latent_dim, seed, learning_rate, jit_compile)


def conv(beta=1.0, latent_dim=None, seed=0, learning_rate="auto", jit_compile="auto"):
    """The paper's convolutional shapes beta-VAE, compiled.

    Encoder conv 3x3/2 16 -> conv 3x3/2 32 -> 1024 -> 10; decoder 1024 -> 4096 = 8x8x64 ->
    convT 3x3/2 16 -> convT 3x3/2 4 -> convT 3x3/2 1 (paper; authors'
    `ConvAutoencoder(64, 10)`). Arguments as in `fc`.
    """
    return _shapes_model("conv", False, beta, latent_dim, seed, learning_rate, jit_compile)


def fc_denoising(beta=1.0, latent_dim=None, seed=0, learning_rate="auto", jit_compile="auto"):
    """`fc` trained to denoise: fit it on (salt-and-pepper inputs, clean targets) (paper).

    Build the data with `bvae_tf.data.pipeline.make_dataset(split, noise=True)`.
    Arguments as in `fc`.
    """
    return _shapes_model("fc", True, beta, latent_dim, seed, learning_rate, jit_compile)


def conv_denoising(beta=1.0, latent_dim=None, seed=0, learning_rate="auto", jit_compile="auto"):
    """`conv` trained to denoise (paper); data as for `fc_denoising`, arguments as `fc`."""
    return _shapes_model("conv", True, beta, latent_dim, seed, learning_rate, jit_compile)


def mnist_fc(beta=1.0, latent_dim=None, seed=0, learning_rate="auto", jit_compile="auto"):
    """The paper's fully connected MNIST beta-VAE, compiled.

    Encoder 784 -> 512 -> 512 -> 16, decoder 16 -> 512 -> 512 -> 512 -> 784 (paper;
    authors' `get_autoencoder.mnist`). `latent_dim` None means 16 (paper);
    `learning_rate="auto"` is 1e-3 at every beta (authors' code); others as in `fc`.
    """
    config = {**_MNIST, **_MNIST_FC}
    return _compiled("fc", False, config, beta, latent_dim, seed, learning_rate, jit_compile)


def mnist_conv(beta=1.0, latent_dim=None, seed=0, learning_rate="auto", jit_compile="auto"):
    """The paper's convolutional MNIST beta-VAE, compiled.

    Encoder conv 3x3/2 8 -> conv 3x3/2 16 -> 512 -> 16; decoder 512 -> 784 = 7x7x16 ->
    convT 3x3/2 8 -> convT 3x3/2 4 -> convT 3x3/1 1 (paper; authors'
    `ConvAutoencoder(28, 16)`). Arguments as in `mnist_fc`.
    """
    config = {**_MNIST, **_MNIST_CONV}
    return _compiled("conv", False, config, beta, latent_dim, seed, learning_rate, jit_compile)


def get(name):
    """Returns the zoo function called `name`.

    Raises:
        ValueError: if `name` is not in `NAMES`.
    """
    if name not in NAMES:
        raise ValueError(f"Unknown zoo entry {name!r}; choose one of {', '.join(NAMES)}.")
    return globals()[name]


def dataset_of(name):
    """Returns "shapes" or "mnist", the dataset zoo entry `name` is trained on."""
    return "mnist" if get(name) in (mnist_fc, mnist_conv) else "shapes"


def is_denoising(name):
    """Returns whether zoo entry `name` trains on (noisy inputs, clean targets)."""
    return get(name) in (fc_denoising, conv_denoising)


def _shapes_model(architecture, denoising, beta, latent_dim, seed, learning_rate, jit_compile):
    if learning_rate == "auto" and beta == 0:
        learning_rate = SHAPES_BETA_ZERO_LEARNING_RATE
    return _compiled(
        architecture, denoising, dict(_SHAPES), beta, latent_dim, seed, learning_rate, jit_compile
    )


def _compiled(architecture, denoising, config, beta, latent_dim, seed, learning_rate, jit_compile):
    if latent_dim is not None:
        config["latent_dim"] = latent_dim
    model = BetaVAE(
        architecture=architecture, beta=beta, denoising=denoising, seed=seed, **config
    )
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=LEARNING_RATE if learning_rate == "auto" else learning_rate,
            epsilon=ADAM_EPSILON,
        ),
        jit_compile=XLA_BY_ARCHITECTURE[architecture] if jit_compile == "auto" else jit_compile,
    )
    # Built now, so that a model saved before training loads its optimizer state cleanly.
    model.optimizer.build(model.trainable_variables)
    return model
