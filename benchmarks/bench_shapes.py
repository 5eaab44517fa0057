"""Shapes dataset: fast grid build vs the Pillow reference, cached load, resident memory.

Times, in one run:
- the cold build into an empty cache directory (render the 1,080 bases with Pillow, cut and
  bit-pack the 276,480 windows, hash and deduplicate, write and checksum), as `load` does it;
- its CPU time (all threads), a figure that other processes sharing the cores do not inflate;
- the Pillow reference on a random sample of factor tuples, extrapolated to 276,480 images;
- a cached `load` in a fresh process (import excluded; sha256 verification included) and its
  resident memory (RSS delta of the loaded dataset, then after touching every grid page).

Usage:
    python benchmarks/bench_shapes.py [--sample 2000] [--threads N]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from bvae_tf.data import render, shapes

_CHILD = r"""
import json, sys, time
def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
from bvae_tf.data import shapes
before = rss_mb()
start = time.perf_counter()
data = shapes.load(cache_dir=sys.argv[1], seed=0)
load_s = time.perf_counter() - start
loaded = rss_mb()
checksum = int(data.packed_grid.sum(dtype="uint64"))  # touches every page of the grid
touched = rss_mb()
print(json.dumps({"load_s": load_s, "rss_load_mb": loaded - before,
                  "rss_touched_mb": touched - before, "checksum": checksum}))
"""


def cached_load_in_fresh_process(cache_dir):
    """Runs a cached `load` in a new interpreter; returns its timings and RSS deltas."""
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(cache_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def reference_seconds(sample, random_state):
    """Seconds the Pillow reference takes for `sample` random images."""
    factors = np.stack(
        [random_state.randint(size, size=sample) for size in render.FACTORS_NUM_VALUES], axis=1
    )
    start = time.perf_counter()
    render.render_reference(factors)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=2000, help="Reference images timed.")
    parser.add_argument("--threads", type=int, default=None, help="Rendering threads.")
    args = parser.parse_args(argv)
    threads = args.threads or render.default_threads()
    load_average = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench_shapes_") as cache_dir:
        start, start_cpu = time.perf_counter(), time.process_time()
        _, status = shapes.ensure_cache(cache_dir, threads=threads)
        build_s = time.perf_counter() - start
        build_cpu_s = time.process_time() - start_cpu
        if status != "built":
            raise RuntimeError(f"expected a cold build, the cache was {status}")
        start = time.perf_counter()
        render.build_grid(threads=threads)
        render_s = time.perf_counter() - start
        sample_s = reference_seconds(args.sample, np.random.RandomState(0))
        reference_s = sample_s / args.sample * render.NUM_IMAGES
        child = cached_load_in_fresh_process(cache_dir)
        data = shapes.load(cache_dir=cache_dir)
        counts = {name: len(data.split(name)) for name in shapes.SPLIT_NAMES}
    rows = [
        ("cpu cores (os.cpu_count)", f"{os.cpu_count()}"),
        ("load average at start (1 min)", f"{load_average:.1f}"),
        ("render threads", f"{threads}"),
        ("fast: render + pack grid only (s)", f"{render_s:.2f}"),
        ("fast: cold build, render+index+write (s)", f"{build_s:.2f}"),
        ("fast: cold build, CPU time of all threads (s)", f"{build_cpu_s:.2f}"),
        (f"reference: {args.sample} images (s)", f"{sample_s:.2f}"),
        ("reference: extrapolated to 276,480 (s)", f"{reference_s:.1f}"),
        ("speed-up (reference / cold build)", f"{reference_s / build_s:.0f}x"),
        ("cached load, fresh process (s)", f"{child['load_s']:.2f}"),
        ("resident after load (MB, RSS delta)", f"{child['rss_load_mb']:.1f}"),
        ("resident after touching the grid (MB)", f"{child['rss_touched_mb']:.1f}"),
        ("images (train/validation/test)", "/".join(f"{n:,}" for n in counts.values())),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
