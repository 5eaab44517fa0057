"""A CPU budget of minutes: the paper's protocol shrunk until `bvae-tf reproduce` fits.

Fewer betas (0, 1 and 4 keep the trend of Figure 1 visible: plain autoencoding at 0, the
VAE at 1, strong disentanglement pressure at 4), two seeds on shapes (a mean and a spread),
1% of the shapes training split (1,869 images) for two epochs in batches of 100 (many more
steps than the paper's batches of 1,000 for the same compute), no XLA (compiling costs more
than it saves in two short epochs), 500 validation images and smaller metric samples.
The learning rate is 1e-3 at every beta: the paper's 3e-5 at beta 0 leaves a model untrained
after 36 steps, which would put an untrained encoder at beta 0 of Figure 1.
At this budget no shapes model is near convergence (the convolutional ones' reconstruction
loss barely moves in 36 steps), so Figure 1 is flat in beta: it shows the protocol working
end to end, not the paper's curves. `fc` with 52 times the steps (20% for 5 epochs, about
3 minutes a trial here) shows them (BENCHMARKS.md); use `--profile paper` for all of it.
MNIST: 10% and 30% of the training images (the two fractions of the paper's text, one line
each in Figure 2), three betas, two seeds (error bars), two epochs, no XLA.

Measured on the 2-core development machine, quiet, in one `bvae-tf reproduce` from a fresh
install (BENCHMARKS.md): a shapes trial (train, save, export, metrics) about 10 s, an MNIST
trial about 8 s at 10% and 17 s at 30%; 24 shapes and 24 MNIST trials.
"""

from bvae_tf.profiles import Profile

PROFILE = Profile(
    name="quick",
    shapes_betas=(0.0, 1.0, 4.0),
    shapes_seeds=(0, 1),
    max_epochs=2,
    train_fraction=0.01,
    validation_size=500,
    batch_size=100,
    jit_compile=False,
    learning_rate=1e-3,
    metrics=("beta_vae", "mig"),
    metric_options={
        "beta_vae": {"num_train": 1_000, "num_validation": 500, "num_test": 500},
        "mig": {"num_train": 1_000},
    },
    mnist_betas=(0.0, 1.0, 4.0),
    mnist_fractions=(0.1, 0.3),
    mnist_seeds=(0, 1),
    mnist_max_epochs=2,
    # Departs from the authors (docs/protocol.md, Departures): at 36 steps a momentum of
    # 0.999 would leave batch norm's moving averages, which the exported encoder uses, at
    # 3% of the way from their initial values.
    batch_norm_momentum=0.99,
)
