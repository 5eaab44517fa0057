"""Throughput of the shapes input pipelines alone, against what training could consume.

The shapes training split (bit-packed rows gathered, unpacked to float32 [B, 64, 64, 1],
shuffled, salt-and-pepper noise on or off), without a model, two ways: `make_dataset`
(tf.data on the host's CPU threads, the batches handed over as float32) and
`DeviceBatches` (the packed split in the default device's memory, tf.data carrying only row
indices and noise seeds, each batch drawn by a `tf.function` on the device, as `BetaVAE`'s
step draws it). Images per second after a warm-up, best of `--rounds`. Beside them, the
training rate the FLOP count predicts for a device of `--device-tflops` effective TFLOP/s
(the shapes models take about 85 MFLOP an image per training step, see bench_train.py):
if the pipeline is slower than that, it, not the device, sets the pace. On a CPU-only
machine both run on the CPU; the device column matters where TensorFlow sees a GPU.

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


def device_rate(split, batch_size, noise, batches, rounds):
    """Returns the best images/s of drawing `batches` batches of `DeviceBatches`."""
    device = pipeline.DeviceBatches(split, batch_size=batch_size, noise=noise)
    tickets = iter(device.tickets().repeat().prefetch(tf.data.AUTOTUNE))
    draw = tf.function(lambda ticket: tf.reduce_sum(device(ticket)[0]))  # stays on device
    for _ in range(3):
        draw(next(tickets)).numpy()
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(batches):
            total = draw(next(tickets))
        total.numpy()  # waits for the queued draws
        best = max(best, batches * batch_size / (time.perf_counter() - start))
    return best, device.table.device


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
    print("| batch | noise | tf.data images/s | of the need | DeviceBatches images/s | "
          "of the need | device |")
    print("|---:|---|---:|---:|---:|---:|---|")
    for batch_size in args.batch_sizes:
        for noise in (False, True):
            batches = max(1, args.images // batch_size)
            rate = pipeline_rate(split, batch_size, noise, batches, args.rounds)
            drawn, where = device_rate(split, batch_size, noise, batches, args.rounds)
            print(f"| {batch_size} | {'on' if noise else 'off'} | {rate:,.0f} | "
                  f"{rate / needed:.1%} | {drawn:,.0f} | {drawn / needed:.1%} | "
                  f"{where.rsplit('/', 1)[-1]} |", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
