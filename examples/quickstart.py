"""Quickstart: fit the paper's convolutional denoising beta-VAE and look at reconstructions.

    python examples/quickstart.py            # a real run: all training images, early stopping
    python examples/quickstart.py --quick    # a minute on a CPU: 1% of the images, 1 epoch

Writes `quickstart.png`: noisy inputs, clean targets and the model's reconstructions.
"""

import argparse

import numpy as np
from PIL import Image

from bvae_tf import training, zoo
from bvae_tf.data import pipeline, shapes


def main(quick=False, beta=4.0, seed=0, out="quickstart.png"):
    data = shapes.load(seed=seed)
    train_fraction = 0.01 if quick else 1.0
    train_ds = pipeline.make_dataset(
        data.train, seed=seed, noise=True, take=round(train_fraction * len(data.train))
    )
    validation_ds = pipeline.make_dataset(
        data.validation, shuffle=False, seed=seed, noise=True, take=2_000 if quick else 40_000
    )
    model = zoo.conv_denoising(beta=beta, seed=seed)
    history = training.fit(model, train_ds, validation_ds, max_epochs=1 if quick else None)
    print({name: round(values[-1], 2) for name, values in history.history.items()})

    noisy, clean = next(iter(validation_ds))
    noisy, clean = noisy[:8].numpy(), clean[:8].numpy()
    reconstructions = model.reconstruct(noisy)
    rows = [np.concatenate(list(images[..., 0]), axis=1) for images in
            (noisy, clean, reconstructions)]
    Image.fromarray((np.concatenate(rows, axis=0) * 255).astype(np.uint8)).save(out)
    print(f"wrote {out}: rows are noisy inputs, clean targets, reconstructions")
    return history


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1%% of the data, one epoch.")
    parser.add_argument("--beta", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="quickstart.png")
    arguments = parser.parse_args()
    main(arguments.quick, arguments.beta, arguments.seed, arguments.out)
