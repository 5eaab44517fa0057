"""The beta-VAE model family (`BetaVAE`); ready-made, compiled models are in `bvae_tf.zoo`."""

from bvae_tf.models.beta_vae import BetaVAE

__all__ = ["BetaVAE"]
