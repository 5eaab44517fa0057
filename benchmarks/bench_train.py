"""Training throughput of the paper's shapes models, against the machine's matmul peak.

For the fully connected and convolutional shapes models (`bvae_tf.zoo.fc`, `.conv`), at
batch 1000 (the paper's) and 64, with XLA off and on: training images per second after a
warm-up, the model's FLOPs per image counted analytically from the layer sizes (2 x MACs of
every dense and convolutional layer forward, 3x that for a training step: forward, and
backward to both activations and weights; batch norm and activations not counted), the
achieved GFLOP/s, and its fraction of a float32 matmul peak measured in the same run
(`tf.matmul` of 2048 x 2048 matrices in a loop).

Example:
    $ python benchmarks/bench_train.py              # the table of BENCHMARKS.md
    $ python benchmarks/bench_train.py --quick      # a few steps, to check the script
"""

import argparse
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from bvae_tf import zoo

TRAINING_FLOPS_PER_FORWARD = 3  # forward + backward (activation and weight gradients)


def forward_flops_per_image(model):
    """Returns 2 x the multiply-adds of one image through encoder and decoder."""
    flops = 0
    for network in (model.encoder, model.decoder):
        for layer in network.layers:
            if isinstance(layer, keras.layers.Dense):
                flops += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
            elif isinstance(layer, keras.layers.Conv2DTranspose):
                height, width, _ = layer.input.shape[1:]  # each input pixel scatters a kernel
                flops += 2 * height * width * math.prod(layer.kernel.shape)
            elif isinstance(layer, keras.layers.Conv2D):
                height, width, _ = layer.output.shape[1:]
                flops += 2 * height * width * math.prod(layer.kernel.shape)
    return flops


def matmul_peak(size=2048, repeats=10, trials=7):
    """Returns the best float32 GFLOP/s of `repeats` chained size x size matmuls."""
    a = tf.random.normal([size, size]) / math.sqrt(size)
    b = tf.random.normal([size, size]) / math.sqrt(size)

    @tf.function
    def chain(x):
        for _ in range(repeats):
            x = tf.matmul(x, b)
        return x

    chain(a).numpy()
    best = math.inf
    for _ in range(trials):
        start = time.perf_counter()
        chain(a).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 * repeats / best / 1e9


def training_throughput(name, batch_size, jit_compile, seconds, quick=False):
    """Returns (images/s, forward FLOPs/image, cores) of `model.fit` on one repeated batch.

    Three warm-up steps (tracing, XLA compilation), two timed steps to size the run, then
    about `seconds` of timed steps (two with `quick`). `cores` is this process's CPU time
    over the wall time of the last timed run: below the core count, other load took a share.
    """
    model = zoo.get(name)(beta=1.0, seed=0, jit_compile=jit_compile)
    images = (np.random.default_rng(0).random((batch_size, *model.image_shape)) > 0.5)
    images = images.astype(np.float32)
    data = tf.data.Dataset.from_tensors((images, images)).repeat()
    model.fit(data, steps_per_epoch=3, epochs=1, verbose=0)
    steps = 2
    for _ in range(1 if quick else 2):
        start, cpu_start = time.perf_counter(), time.process_time()
        model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
        wall = time.perf_counter() - start
        cores = (time.process_time() - cpu_start) / wall
        rate = batch_size * steps / wall
        steps = max(3, round(seconds * rate / batch_size))
    return rate, forward_flops_per_image(model), cores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["fc", "conv"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1000, 64])
    parser.add_argument("--seconds", type=float, default=15.0,
                        help="Approximate timed seconds per configuration.")
    parser.add_argument("--quick", action="store_true", help="Two timed steps each.")
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()}; cpus: {os.cpu_count()}; threads: "
          f"intra {tf.config.threading.get_intra_op_parallelism_threads()} inter "
          f"{tf.config.threading.get_inter_op_parallelism_threads()} (0 = all cores); "
          f"TF {tf.__version__}, Keras {keras.__version__}")
    peak = matmul_peak()
    print(f"float32 matmul peak (2048 x 2048, tf.matmul): {peak:.1f} GFLOP/s\n")
    print("| model | batch | XLA | images/s | MFLOP/image (train) | GFLOP/s | of peak | cores |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for name in args.models:
        for batch_size in args.batch_sizes:
            for jit_compile in (False, True):
                rate, flops, cores = training_throughput(
                    name, batch_size, jit_compile, args.seconds, args.quick
                )
                train_flops = TRAINING_FLOPS_PER_FORWARD * flops
                achieved = rate * train_flops / 1e9
                print(f"| {name} | {batch_size} | {'on' if jit_compile else 'off'} | "
                      f"{rate:,.0f} | {train_flops / 1e6:.1f} | {achieved:.1f} | "
                      f"{achieved / peak:.0%} | {cores:.2f} |", flush=True)
    print(f"\nfloat32 matmul peak again: {matmul_peak():.1f} GFLOP/s (fractions above use the "
          f"first, {peak:.1f}); load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
