"""A CPU budget of minutes: the paper's protocol shrunk until `bvae-tf reproduce` fits.

Fewer betas (0, 1 and 4 keep the trend of Figure 1 visible: plain autoencoding at 0, the
VAE at 1, strong disentanglement pressure at 4), two seeds on shapes (a mean and a spread),
1% of the shapes training split (1,869 images) for two epochs in batches of 100 (many more
steps than the paper's batches of 1,000 for the same compute), no XLA (compiling costs more
than it saves in two short epochs), 500 validation images and smaller metric samples.
MNIST: 10% of the training images, three betas, one seed, three epochs.

Measured on a shared 2-core CPU, CPU seconds of one whole trial (train, save, export,
metrics): fc and fc_denoising 22, conv and conv_denoising 36, mnist_fc and mnist_conv 35;
24 shapes trials and 6 MNIST trials, about 15 CPU minutes in all.
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
    metrics=("beta_vae", "mig"),
    metric_options={
        "beta_vae": {"num_train": 1_000, "num_validation": 500, "num_test": 500},
        "mig": {"num_train": 1_000},
    },
    mnist_betas=(0.0, 1.0, 4.0),
    mnist_fractions=(0.1,),
    mnist_seeds=(0,),
    mnist_max_epochs=3,
)
