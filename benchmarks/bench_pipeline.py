"""Throughput of the shapes tf.data pipeline alone, against what training could consume.

`bvae_tf.data.pipeline.make_dataset` on the shapes training split (bit-packed rows gathered,
unpacked to float32 [B, 64, 64, 1], shuffled, salt-and-pepper noise on or off), iterated
without a model: images per second after a warm-up, best of `--rounds`. Beside it, the
training rate the FLOP count predicts for a device of `--device-tflops` effective TFLOP/s
(the shapes models take about 85 MFLOP an image per training step, see bench_train.py):
if the pipeline is slower than that, it, not the device, sets the pace.

Example:
    $ python benchmarks/bench_pipeline.py                  # batches of 1000 and 100
    $ python benchmarks/bench_pipeline.py --device-tflops 300
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf

from bvae_tf.data import pipeline, shapes

TRAINING_MFLOP_PER_IMAGE = 85.1  # fc (conv: 88.3), bench_train.py's count


def pipeline_rate(split, batch_size, noise, batches, rounds):
    """Returns the best images/s of iterating `batches` batches of `make_dataset`."""
    dataset = pipeline.make_dataset(split, batch_size=batch_size, noise=noise).repeat()
    iterator = iter(dataset)
    for _ in range(3):  # warm-up: tracing, the first shuffle
        next(iterator)
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(batches):
            inputs, _ = next(iterator)
        inputs.numpy()
        best = max(best, batches * batch_size / (time.perf_counter() - start))
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1000, 100])
    parser.add_argument("--images", type=int, default=50_000,
                        help="Images per timed round.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device-tflops", type=float, default=100.0,
                        help="Effective training TFLOP/s of the device to compare with.")
    args = parser.parse_args(argv)
    split = shapes.load().train
    needed = args.device_tflops * 1e12 / (TRAINING_MFLOP_PER_IMAGE * 1e6)
    print(f"TF {tf.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()}; "
          f"training at {args.device_tflops:g} effective TFLOP/s needs {needed:,.0f} images/s")
    print("| batch | noise | pipeline images/s | of the device's need |")
    print("|---:|---|---:|---:|")
    for batch_size in args.batch_sizes:
        for noise in (False, True):
            rate = pipeline_rate(split, batch_size, noise, max(1, args.images // batch_size),
                                 args.rounds)
            print(f"| {batch_size} | {'on' if noise else 'off'} | {rate:,.0f} | "
                  f"{rate / needed:.1%} |", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
