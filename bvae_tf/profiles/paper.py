"""The paper's protocol: every grid and sample size of Peychev, Velickovic and Lio (2017).

Shapes: 4 zoo entries x 26 betas (0 to 5 step 0.2) x 5 seeds = 520 models, trained on the
full training split until early stopping (no epoch cap), each scored with the paper's
beta-VAE score (35,001 / 7,500 / 7,500 samples, its classifier stopped by the authors' rule)
and the field's current metrics at their reference defaults. MNIST: 2 entries x 41 betas (0 to 4 step 0.1) x 3 fractions x 5 seeds.
Sized for accelerators: days of CPU time.

References:
    Peychev, Velickovic and Lio (2017), section 4 (shapes, Figure 1) and section 4.2
    (MNIST, Figure 2).
"""

from bvae_tf.profiles import Profile

PROFILE = Profile(
    name="paper",
    # float32 until bfloat16 is shown to give the same numbers at full training
    # (BENCHMARKS.md, "bfloat16 numerics"); the quick profile takes "auto".
    precision="float32",
    # Beyond the paper: every score also with batch norm's statistics recalibrated
    # (docs/protocol.md, "What batch-norm statistics do to the findings").
    recalibrated_scores=True,
    metric_options={"beta_vae": {
        # The paper's samples: 35,001 training, 7,500 validation and 7,500 test pairs.
        "num_train": 35_001, "num_validation": 7_500, "num_test": 7_500,
        # The authors' classifier stops after 21 epochs without improvement and has no epoch
        # cap (bvae_tf.metrics.PEYCHEV2017_STOPPING; mpeychev/disentangled-autoencoders,
        # src/evaluator.py). The metric's own defaults are 20 and 10,000.
        "patience": 21, "max_epochs": None,
    }},
)
