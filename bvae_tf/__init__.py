"""bvae_tf: a Keras 3 / TensorFlow model zoo of beta-VAEs.

Reproduces, and goes beyond, "Quantifying the Effects of Enforcing Disentanglement on
Variational Autoencoders" (Peychev, Velickovic and Lio, 2017): the shapes dataset, the
paper's fully connected and convolutional (denoising) beta-VAEs, the disentanglement
metrics, beta sweeps with keras-tuner, the MNIST SVM experiment and the paper's figures.

Submodules are imported on demand so that `import bvae_tf` stays cheap:
`bvae_tf.data`, `bvae_tf.zoo`, `bvae_tf.models`, `bvae_tf.metrics`, `bvae_tf.export`,
`bvae_tf.tuning`, `bvae_tf.reports`.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
