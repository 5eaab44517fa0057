"""The beta-VAE model family (`BetaVAE`), its successors' objectives, and its optimizer.

`BetaVAE` is the paper's model; `BetaTCVAE`, `DIPVAE`, `AnnealedVAE` and `FactorVAE` are the
same encoder and decoder with another regularizer (`BetaVAE.regularizer`), their estimators
pure functions in `bvae_tf.models.objectives`. Ready-made, compiled models are in
`bvae_tf.zoo`. Importing this package registers every class with Keras; `import bvae_tf`
imports it as soon as Keras is imported, so saved models load with
`keras.saving.load_model` after `import bvae_tf` alone.
"""

from bvae_tf.models.adam import Adam
from bvae_tf.models.annealed_vae import AnnealedVAE
from bvae_tf.models.beta_tcvae import BetaTCVAE
from bvae_tf.models.beta_vae import BetaVAE
from bvae_tf.models.dip_vae import DIPVAE
from bvae_tf.models.factor_vae import FactorVAE

__all__ = ["DIPVAE", "Adam", "AnnealedVAE", "BetaTCVAE", "BetaVAE", "FactorVAE"]
