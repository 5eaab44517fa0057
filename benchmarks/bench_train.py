"""Training throughput of the shapes models: bvae_tf's configurations against PyTorch's.

For the paper's fully connected and convolutional shapes models (the sizes of `bvae_tf.zoo.fc`
and `.conv`), at batch 1000 (the paper's) and 100 (the quick profile's), one table of
training images per second, side by side from one run:

- bvae_tf in float32 and mixed_bfloat16, each with XLA off and on (`BetaVAE(precision=...)`,
  `bvae_tf.speed.Adam`, `compile(jit_compile=...)`), and the configuration that
  `bvae_tf.speed.resolve` picks for "auto" (its probe, cached as in normal use; `--refresh`
  measures it again);
- a PyTorch reference of the same layers written below (bias-free dense and convolutional
  layers, batch norm with the same epsilon and momentum, ReLU encoder, tanh decoder, the same
  loss and Adam), eager, in float32 and, where bfloat16 is native, under bf16 autocast.

On a shared machine the configurations of one model and batch take turns for `--rounds`
rounds; `images/s` is a configuration's median round (`best round` beside it), `cores` the
median CPU time the process got over the wall time. Ratios are paired: the median over
rounds of a row's rate over another configuration's in the same round, against the bvae_tf
float32 configuration of the highest median and against PyTorch in the same precision
(float32 against eager float32, mixed_bfloat16 against bf16 autocast); `auto` against the
best float32 is the acceptance figure of issue 11. Training FLOPs are counted from the
layer sizes (3 x 2 x the multiply-adds of every dense and convolutional layer); "of peak"
divides the median rate by a matmul peak of the row's precision measured in the same run.
Runs unchanged on a GPU: TensorFlow uses it if it sees one, PyTorch if CUDA is available to
it; the device of each framework is printed.

Example:
    $ python benchmarks/bench_train.py              # the table of BENCHMARKS.md
    $ python benchmarks/bench_train.py --quick      # a few steps, to check the script
"""

import argparse
import math
import os
import platform
import subprocess
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from bvae_tf import speed, zoo
from bvae_tf.models import BetaVAE

TRAINING_FLOPS_PER_FORWARD = 3  # forward + backward (activation and weight gradients)
LEARNING_RATE, ADAM_EPSILON = 1e-3, 1e-8  # the zoo's
KERAS_CONFIGURATIONS = [("float32", False), ("float32", True), ("mixed_bfloat16", False),
                        ("mixed_bfloat16", True)]
TORCH_PRECISIONS = ("float32", "bfloat16")


def torch_precisions():
    """PyTorch's precisions to time: bf16 autocast only where bfloat16 is native.

    Without bfloat16 instructions PyTorch's CPU autocast falls back to a path about 20 times
    slower than float32 (16 images/s for fc at batch 100 on an AVX2-only EPYC), minutes a
    round at batch 1000, and compares with nothing "auto" would pick.
    """
    return TORCH_PRECISIONS if speed.native_bfloat16() else TORCH_PRECISIONS[:1]


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


def matmul_peak(dtype, size=2048, repeats=10, trials=5):
    """Returns the best GFLOP/s of chained size x size matmuls in `dtype` (TensorFlow)."""
    a = tf.cast(tf.random.normal([size, size]) / math.sqrt(size), dtype)
    b = tf.cast(tf.random.normal([size, size]) / math.sqrt(size), dtype)

    @tf.function
    def chain(x):
        for _ in range(repeats):
            x = tf.matmul(x, b)
        return x

    chain(a).numpy()
    best = min(_timed(lambda: chain(a).numpy())[0] for _ in range(trials))
    return 2 * size**3 * repeats / 1e9 / best


def _timed(function, *args):
    """Returns (wall seconds, CPU seconds of this process / wall seconds) of one call."""
    start, cpu_start = time.perf_counter(), time.process_time()
    function(*args)
    wall = time.perf_counter() - start
    return wall, (time.process_time() - cpu_start) / wall


def _images(batch_size, image_shape=(64, 64, 1)):
    return (np.random.default_rng(0).random((batch_size, *image_shape)) > 0.5).astype("float32")


def keras_runner(architecture, batch_size, precision, jit_compile):
    """Returns (step(count), model): `count` training steps of bvae_tf on one batch."""
    model = BetaVAE(**zoo.entry(architecture).model_config(), precision=precision, seed=0)
    model.compile(optimizer=speed.Adam(LEARNING_RATE, epsilon=ADAM_EPSILON),
                  jit_compile=jit_compile)
    images = _images(batch_size)
    data = tf.data.Dataset.from_tensors((images, images)).repeat()
    return lambda count: model.fit(data, steps_per_epoch=count, epochs=1, verbose=0), model


def torch_runner(architecture, batch_size, precision):
    """Returns step(count): `count` eager PyTorch training steps on one batch."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    model = _torch_model(architecture).to(device)
    optimizer = torch.optim.Adam(model.parameters(), LEARNING_RATE, eps=ADAM_EPSILON)
    images = torch.from_numpy(_images(batch_size)).permute(0, 3, 1, 2).contiguous().to(device)

    def step(count):
        for _ in range(count):
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bfloat16"):
                loss = model.loss(images)
            loss.backward()
            optimizer.step()
        float(loss.detach())  # waits for the device

    return step


def _torch_model(architecture):
    """The PyTorch reference of `BetaVAE(architecture)` at the shapes sizes."""
    from torch import nn

    class TorchBetaVAE(nn.Module):
        def __init__(self, encoder, width, decoder, latent_dim=10):
            super().__init__()
            self.encoder, self.decoder = nn.Sequential(*encoder), nn.Sequential(*decoder)
            self.z_mean = nn.Linear(width, latent_dim)
            self.z_log_var = nn.Linear(width, latent_dim)

        def loss(self, images):
            import torch

            hidden = self.encoder(images)
            z_mean, z_log_var = self.z_mean(hidden).float(), self.z_log_var(hidden).float()
            z = z_mean + torch.exp(0.5 * z_log_var) * torch.randn_like(z_mean)
            logits = self.decoder(z).float()
            reconstruction = nn.functional.binary_cross_entropy_with_logits(
                logits, images, reduction="none").sum((1, 2, 3)).mean()
            kl = 0.5 * (z_mean**2 + z_log_var.exp() - z_log_var - 1).sum(1).mean()
            return reconstruction + kl

    def hidden(layer, width, activation, conv=False):
        norm = (nn.BatchNorm2d if conv else nn.BatchNorm1d)(width, eps=1e-4, momentum=0.01)
        return [layer, norm, activation()]

    if architecture == "fc":
        encoder = [nn.Flatten(), *hidden(nn.Linear(4096, 1200, bias=False), 1200, nn.ReLU),
                   *hidden(nn.Linear(1200, 1200, bias=False), 1200, nn.ReLU)]
        decoder = [*hidden(nn.Linear(10, 1200, bias=False), 1200, nn.Tanh),
                   *hidden(nn.Linear(1200, 1200, bias=False), 1200, nn.Tanh),
                   *hidden(nn.Linear(1200, 1200, bias=False), 1200, nn.Tanh),
                   nn.Linear(1200, 4096), nn.Unflatten(1, (1, 64, 64))]
        return TorchBetaVAE(encoder, 1200, decoder)
    convolution = {"kernel_size": 3, "stride": 2, "padding": 1, "bias": False}
    transposed = {**convolution, "output_padding": 1}
    encoder = [*hidden(nn.Conv2d(1, 16, **convolution), 16, nn.ReLU, conv=True),
               *hidden(nn.Conv2d(16, 32, **convolution), 32, nn.ReLU, conv=True),
               nn.Flatten(), *hidden(nn.Linear(8192, 1024, bias=False), 1024, nn.ReLU)]
    decoder = [*hidden(nn.Linear(10, 1024, bias=False), 1024, nn.Tanh),
               *hidden(nn.Linear(1024, 4096, bias=False), 4096, nn.Tanh),
               nn.Unflatten(1, (64, 8, 8)),
               *hidden(nn.ConvTranspose2d(64, 16, **transposed), 16, nn.Tanh, conv=True),
               *hidden(nn.ConvTranspose2d(16, 4, **transposed), 4, nn.Tanh, conv=True),
               nn.ConvTranspose2d(4, 1, **{**transposed, "bias": True})]
    return TorchBetaVAE(encoder, 1024, decoder)


def compare(architecture, batch_size, seconds, rounds, with_torch):
    """Returns ({name: [(images/s, cores) of each round]}, training FLOPs per image).

    Names are ("bvae_tf", precision, jit_compile) and ("PyTorch", precision, False). Every
    configuration is warmed up (tracing, XLA compilation), then they take turns.
    """
    runners, model = {}, None
    for precision, jit_compile in KERAS_CONFIGURATIONS:
        step, model = keras_runner(architecture, batch_size, precision, jit_compile)
        runners[("bvae_tf", precision, jit_compile)] = step
    if with_torch:
        for precision in torch_precisions():
            runners[("PyTorch", precision, False)] = torch_runner(architecture, batch_size,
                                                                  precision)
    steps = {}
    for name, step in runners.items():
        step(3)
        wall, _ = _timed(step, 2)
        steps[name] = max(2, round(seconds / rounds / (wall / 2)))
    results = {name: [] for name in runners}
    for _ in range(rounds):
        for name, step in runners.items():
            wall, cores = _timed(step, steps[name])
            results[name].append((batch_size * steps[name] / wall, cores))
    return results, TRAINING_FLOPS_PER_FORWARD * forward_flops_per_image(model)


def _paired_ratio(results, name, reference):
    """Median over rounds of `name`'s rate over `reference`'s in the same round."""
    return float(np.median([rate / other for (rate, _), (other, _)
                            in zip(results[name], results[reference])]))


def table_rows(architecture, batch_size, results, flops, auto, peaks):
    """The Markdown rows of one model and batch size."""
    median = {name: float(np.median([rate for rate, _ in rounds]))
              for name, rounds in results.items()}
    best_float32 = max((name for name in results
                        if name[0] == "bvae_tf" and name[1] == "float32"), key=median.get)
    torch_of = {"float32": ("PyTorch", "float32", False),
                "mixed_bfloat16": ("PyTorch", "bfloat16", False)}
    rows = []
    for label, name in [(name[0], name) for name in results] + [
            ("bvae_tf auto", ("bvae_tf", *auto))]:
        _, precision, jit_compile = name
        cores = float(np.median([cores for _, cores in results[name]]))
        peak = peaks["float32" if precision == "float32" else "bfloat16"]
        torch_name = torch_of.get(precision)
        versus_torch = (f"{_paired_ratio(results, name, torch_name):.2f}x"
                        if label != "PyTorch" and torch_name in results else "")
        rows.append(f"| {architecture} | {batch_size} | {label} | {precision} | "
                    f"{'on' if jit_compile else 'off'} | {median[name]:,.0f} | "
                    f"{max(rate for rate, _ in results[name]):,.0f} | {cores:.2f} | "
                    f"{median[name] * flops / 1e9 / peak:.0%} | "
                    f"{_paired_ratio(results, name, best_float32):.2f}x | {versus_torch} |")
    return rows


def _header(peaks):
    print(f"host: {platform.node()}; {_lscpu()}")
    print(speed.describe_machine())
    devices = [device.name for device in tf.config.list_physical_devices()]
    print(f"TensorFlow {tf.__version__} on {devices}; Keras {keras.__version__}; "
          f"intra-op threads {tf.config.threading.get_intra_op_parallelism_threads()} "
          f"(0 = all cores)")
    try:
        import torch
        print(f"PyTorch {torch.__version__} on "
              f"{'cuda' if torch.cuda.is_available() else 'cpu'}, {torch.get_num_threads()} "
              f"threads")
    except ImportError:
        print("PyTorch not installed: pip install torch (bvae_tf[bench])")
    print(f"matmul peak (tf.matmul 2048^2): float32 {peaks['float32']:.0f} GFLOP/s, bfloat16 "
          f"{peaks['bfloat16']:.0f} GFLOP/s; load average {_load()}\n")


def _lscpu():
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True,
                               check=False).stdout.splitlines()
    except OSError:
        return "lscpu not available"
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    flags = [flag for flag in fields.get("Flags", "").split()
             if "bf16" in flag or "amx" in flag or flag in ("avx512f", "avx2", "avx512_vnni")]
    return f"lscpu: {fields.get('Model name', '?').strip()}, flags {' '.join(flags)}"


def _load():
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["fc", "conv"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1000, 100])
    parser.add_argument("--seconds", type=float, default=16.0,
                        help="Approximate timed seconds per configuration, all rounds.")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--refresh", action="store_true", help="Probe 'auto' again.")
    parser.add_argument("--no-torch", action="store_true", help="Leave PyTorch out.")
    parser.add_argument("--quick", action="store_true", help="A few steps, one round.")
    args = parser.parse_args(argv)
    seconds, rounds = (1.0, 1) if args.quick else (args.seconds, args.rounds)
    peaks = {"float32": matmul_peak(tf.float32), "bfloat16": matmul_peak(tf.bfloat16)}
    _header(peaks)
    lines = [("| model | batch | framework | precision | XLA | images/s | best round | cores "
              "| of peak | vs best bvae_tf float32 | vs PyTorch, same precision |"),
             "|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|"]
    print("\n".join(lines), flush=True)
    for architecture in args.models:
        for batch_size in args.batch_sizes:
            auto = speed.resolve(zoo.entry(architecture).model_config(), batch_size,
                                 refresh=args.refresh)
            results, flops = compare(architecture, batch_size, seconds, rounds,
                                     not args.no_torch)
            print("\n".join(table_rows(architecture, batch_size, results, flops, auto, peaks)),
                  flush=True)
    print(f"\nload average after: {_load()}; 'auto' as resolved by bvae_tf.speed (overrides "
          f"${speed.PRECISION_ENV}={os.environ.get(speed.PRECISION_ENV, '')!r}, "
          f"${speed.JIT_COMPILE_ENV}={os.environ.get(speed.JIT_COMPILE_ENV, '')!r})")


if __name__ == "__main__":
    main()
