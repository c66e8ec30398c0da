"""Loading a 1 GiB safetensors file: time to load, time to first use of one tensor, and how much
resident memory each step adds, for ember, safetensors.numpy.load_file and candle-nn's
load_safetensors. Each measurement runs in a fresh process (median of --repeat runs, libraries
interleaved); the file is in the page cache (warm), so the times are those of mapping or copying.

    python bench/load.py [--size-mib 1024] [--repeat 5] [--dir /tmp]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import fmt, print_table, run_workers_interleaved  # noqa: E402

LIBS = ["ember", "safetensors.numpy", "candle"]
TENSOR_MIB = 8


def rss_mib(field="VmRSS"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_file(path, size_mib):
    import numpy as np
    import safetensors.numpy

    if os.path.exists(path) and os.path.getsize(path) >= size_mib << 20:
        return
    rng = np.random.default_rng(0)
    n = size_mib // TENSOR_MIB
    rows = (TENSOR_MIB << 20) // (4 * 1024)
    block = rng.standard_normal((rows, 1024)).astype(np.float32)
    tensors = {f"model.layers.{i // 8}.w{i % 8}": block for i in range(n)}
    safetensors.numpy.save_file(tensors, path + ".tmp")
    os.replace(path + ".tmp", path)


def worker(lib, path):
    import json

    first_name = "model.layers.0.w0"
    base = rss_mib()
    if lib == "ember":
        import ember.io

        t0 = time.perf_counter()
        tensors = ember.io.load_safetensors(path)
        t1 = time.perf_counter()
        after_load = rss_mib()
        float(tensors[first_name].sum())
    elif lib == "safetensors.numpy":
        import safetensors.numpy

        t0 = time.perf_counter()
        tensors = safetensors.numpy.load_file(path)
        t1 = time.perf_counter()
        after_load = rss_mib()
        float(tensors[first_name].sum())
    else:
        import candle

        t0 = time.perf_counter()
        tensors = candle.utils.load_safetensors(path)
        t1 = time.perf_counter()
        after_load = rss_mib()
        float(tensors[first_name].sum_all().values())
    t2 = time.perf_counter()
    after_first = rss_mib()
    print(json.dumps({"load_ms": (t1 - t0) * 1e3, "first_ms": (t2 - t1) * 1e3, "rss_load": after_load - base,
                      "rss_first": after_first - base, "peak": rss_mib("VmHWM") - base}))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
        return
    p = argparse.ArgumentParser()
    p.add_argument("--size-mib", type=int, default=1024)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--dir", default="/tmp")
    args = p.parse_args()
    path = os.path.join(args.dir, f"ember_bench_{args.size_mib}mib.safetensors")
    make_file(path, args.size_mib)
    libs = []
    for lib in LIBS:
        try:
            __import__(lib)
            libs.append(lib)
        except ImportError:
            print(f"({lib} is not installed: skipped)")
    res = run_workers_interleaved(__file__, libs, [path], threads=2, repeat=args.repeat)
    print(f"\n{args.size_mib} MiB safetensors file, {args.size_mib // TENSOR_MIB} tensors of {TENSOR_MIB} MiB, "
          f"warm page cache, median of {args.repeat} fresh processes")
    rows = []
    for lib in libs:
        r = res[lib]
        rows.append([lib, fmt(r["load_ms"], 2), fmt(r["first_ms"], 2), fmt(r["rss_load"]), fmt(r["rss_first"]),
                     fmt(r["peak"]), fmt(r["load_ms"] / res["ember"]["load_ms"], 1)])
    print_table(["library", "load ms", "first use ms", "RSS after load MiB", "RSS after first use MiB",
                 "peak RSS MiB", "load time / ember"], rows)


if __name__ == "__main__":
    main()
