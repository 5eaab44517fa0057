"""The beta-VAE model family (`BetaVAE`) and its optimizer (`Adam`, fused).

Ready-made, compiled models are in `bvae_tf.zoo`. Importing this package registers both
classes with Keras; `import bvae_tf` imports it as soon as Keras is imported, so saved
models load with `keras.saving.load_model` after `import bvae_tf` alone.
"""

from bvae_tf.models.adam import Adam
from bvae_tf.models.beta_vae import BetaVAE

__all__ = ["Adam", "BetaVAE"]
