"""The paper's protocol: every grid and sample size of Peychev, Velickovic and Lio (2017).

Shapes: 4 zoo entries x 26 betas (0 to 5 step 0.2) x 5 seeds = 520 models, trained on the
full training split until early stopping (no epoch cap), each scored with the paper's
beta-VAE score (35,001 / 7,500 / 7,500 samples) and the field's current metrics at their
reference defaults. MNIST: 2 entries x 41 betas (0 to 4 step 0.1) x 3 fractions x 5 seeds.
Sized for accelerators: days of CPU time.

References:
    Peychev, Velickovic and Lio (2017), section 4 (shapes, Figure 1) and section 4.2
    (MNIST, Figure 2).
"""

from bvae_tf.profiles import Profile

PROFILE = Profile(name="paper")
