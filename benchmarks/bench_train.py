"""Training throughput of the paper's shapes models, against the machine's matmul peak.

For the fully connected and convolutional shapes models (`bvae_tf.zoo.fc`, `.conv`), at
batch 1000 (the paper's) and 64, with XLA off and on: training images per second after a
warm-up, the model's FLOPs per image counted analytically from the layer sizes (2 x MACs of
every dense and convolutional layer forward, 3x that for a training step: forward, and
backward to both activations and weights; batch norm and activations not counted), the
achieved GFLOP/s, and its fraction of a float32 matmul peak measured in the same run
(`tf.matmul` of 2048 x 2048 matrices in a loop).

On a shared machine the wall-clock numbers depend on what else runs, so the script
alternates XLA off and on in several rounds, keeps each one's best round, and also reports
the CPU time this process got (`cores`) and the GFLOP per CPU-second, whose ratio to the
matmul's is the efficiency that other load does not dilute.

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


def _timed(function, *args, **kwargs):
    """Returns (wall seconds, CPU seconds of this process / wall seconds) of one call."""
    start, cpu_start = time.perf_counter(), time.process_time()
    function(*args, **kwargs)
    wall = time.perf_counter() - start
    return wall, (time.process_time() - cpu_start) / wall


def matmul_peak(size=2048, repeats=10, trials=7):
    """Returns (best GFLOP/s, GFLOP per CPU-second) of chained size x size float32 matmuls."""
    a = tf.random.normal([size, size]) / math.sqrt(size)
    b = tf.random.normal([size, size]) / math.sqrt(size)

    @tf.function
    def chain(x):
        for _ in range(repeats):
            x = tf.matmul(x, b)
        return x

    chain(a).numpy()
    gigaflops = 2 * size**3 * repeats / 1e9
    runs = [_timed(lambda: chain(a).numpy()) for _ in range(trials)]
    best_wall = min(wall for wall, _ in runs)
    return gigaflops / best_wall, max(gigaflops / (wall * cores) for wall, cores in runs)


def _model_and_data(name, batch_size, jit_compile):
    model = zoo.get(name)(beta=1.0, seed=0, jit_compile=jit_compile)
    images = np.random.default_rng(0).random((batch_size, *model.image_shape)) > 0.5
    images = images.astype(np.float32)
    data = tf.data.Dataset.from_tensors((images, images)).repeat()
    model.fit(data, steps_per_epoch=3, epochs=1, verbose=0)  # tracing, XLA compilation
    return model, data


def compare_xla(name, batch_size, seconds, rounds):
    """Returns ({jit_compile: (best images/s, images per CPU-second, cores of best)},
    training FLOPs per image).

    XLA off and on alternate for `rounds` rounds of about `seconds / rounds` each.
    """
    runs = {jit_compile: _model_and_data(name, batch_size, jit_compile)
            for jit_compile in (False, True)}
    steps = {}
    for jit_compile, (model, data) in runs.items():
        wall, _ = _timed(model.fit, data, steps_per_epoch=2, epochs=1, verbose=0)
        steps[jit_compile] = max(2, round(seconds / rounds / (wall / 2)))
    rates = {jit_compile: [] for jit_compile in runs}
    for _ in range(rounds):
        for jit_compile, (model, data) in runs.items():
            count = steps[jit_compile]
            wall, cores = _timed(model.fit, data, steps_per_epoch=count, epochs=1, verbose=0)
            rates[jit_compile].append((batch_size * count / wall, cores))
    flops = TRAINING_FLOPS_PER_FORWARD * forward_flops_per_image(runs[False][0])
    return {
        jit_compile: (max(rate for rate, _ in values),
                      float(np.median([rate / cores for rate, cores in values])),
                      max(values)[1])
        for jit_compile, values in rates.items()
    }, flops


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["fc", "conv"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1000, 64])
    parser.add_argument("--seconds", type=float, default=24.0,
                        help="Approximate timed seconds per configuration, all rounds.")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="A few steps, one round.")
    args = parser.parse_args(argv)
    seconds, rounds = (2.0, 1) if args.quick else (args.seconds, args.rounds)
    print(f"load average before: {os.getloadavg()}; cpus: {os.cpu_count()}; threads: "
          f"intra {tf.config.threading.get_intra_op_parallelism_threads()} inter "
          f"{tf.config.threading.get_inter_op_parallelism_threads()} (0 = all cores); "
          f"TF {tf.__version__}, Keras {keras.__version__}")
    peak, peak_per_cpu = matmul_peak()
    print(f"float32 matmul (2048 x 2048, tf.matmul): best {peak:.1f} GFLOP/s, "
          f"{peak_per_cpu:.1f} GFLOP per CPU-second\n")
    print("| model | batch | XLA | images/s | MFLOP/image (train) | GFLOP/s | of peak | cores "
          "| GFLOP per CPU-s | of matmul's |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in args.models:
        for batch_size in args.batch_sizes:
            results, flops = compare_xla(name, batch_size, seconds, rounds)
            for jit_compile, (rate, rate_per_cpu, cores) in results.items():
                achieved, per_cpu = rate * flops / 1e9, rate_per_cpu * flops / 1e9
                print(f"| {name} | {batch_size} | {'on' if jit_compile else 'off'} | "
                      f"{rate:,.0f} | {flops / 1e6:.1f} | {achieved:.1f} | "
                      f"{achieved / peak:.0%} | {cores:.2f} | {per_cpu:.1f} | "
                      f"{per_cpu / peak_per_cpu:.0%} |", flush=True)
    peak_after, _ = matmul_peak()
    print(f"\nfloat32 matmul peak again: {peak_after:.1f} GFLOP/s (fractions above use the "
          f"first, {peak:.1f}); load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
