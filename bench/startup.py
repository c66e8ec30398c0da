"""`import ember` wall time (the whole `python -c "import ember"` command, median of 20 runs, next to a
bare interpreter start) and, given a wheel, its size.

    python bench/startup.py [--wheel dist/ember_ml-*.whl]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time


def wall(cmd, reps=20):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wheel")
    args = parser.parse_args()
    bare = wall([sys.executable, "-c", "pass"])
    ember = wall([sys.executable, "-c", "import ember"])
    numpy = wall([sys.executable, "-c", "import numpy"])
    torch = wall([sys.executable, "-c", "import torch"], reps=5)
    print(f"python -c 'pass'          {bare * 1e3:7.1f} ms")
    print(f"python -c 'import ember'  {ember * 1e3:7.1f} ms   (bar: < 100 ms)")
    print(f"python -c 'import numpy'  {numpy * 1e3:7.1f} ms")
    print(f"python -c 'import torch'  {torch * 1e3:7.1f} ms")
    if args.wheel:
        size = os.path.getsize(args.wheel)
        print(f"wheel {os.path.basename(args.wheel)}: {size / 1e6:.2f} MB (bar: < 10 MB)")


if __name__ == "__main__":
    main()
