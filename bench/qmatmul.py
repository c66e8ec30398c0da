"""Quantized matmul y = x @ dequantize(W).T: ember vs candle-nn vs llama.cpp's ggml (CPU), per call.

W (N, K) is quantized once by ggml's reference quantizer and all three libraries compute on those same
bytes (ember: ember.QTensor over them; candle: loaded from a GGUF file holding them; ggml: ggml_mul_mat
on its CPU backend). x (M, K) float32. llama.cpp is measured both with the weight in a plain CPU buffer
and in its CPU_REPACK buffer (the interleaved layouts llama.cpp loads q4_0 / q4_k / iq4_nl into on
AVX2); the faster of the two is its column, and the "path" column says which.

Each thread count and type runs in its own process (RAYON_NUM_THREADS etc. must be set before import);
inside it the libraries take turns in rounds of consecutive calls (see time_interleaved), and the
median call time is kept.
ratio = peer time / ember time (> 1: ember faster). GB/s = weight bytes / time.

    python bench/qmatmul.py                 # 3 shapes x M in 1, 8, 128 x 12 types x 1, 2 threads
    python bench/qmatmul.py --quick         # 2048 x 2048 only, fewer calls
    python bench/qmatmul.py --types q4_0 q4_k --threads 1

The first run builds ggml (see _ggml_peer.py) and caches the quantized weights as GGUF files in
~/.cache/ember-bench/qweights (about 0.5 GB for the default set; EMBER_BENCH_CACHE moves it).
"""

import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import bench_parser, print_table, run_worker

TYPES = ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "iq4_nl", "iq4_xs"]
SHAPES = [(4096, 4096), (11008, 4096), (2048, 2048)]
QUICK_SHAPES = [(2048, 2048)]
BATCHES = [1, 8, 128]
CANDLE_TYPES = {"q4_0": "Q4_0", "q4_1": "Q4_1", "q5_0": "Q5_0", "q5_1": "Q5_1", "q8_0": "Q8_0", "q2_k": "Q2K",
                "q3_k": "Q3K", "q4_k": "Q4K", "q5_k": "Q5K", "q6_k": "Q6K"}  # candle-nn 0.4 has no iq types
AGREE_TOL = 1e-2  # ||y_ember - y_llama|| / ||y_llama||


def fmt(x, digits):
    return "n/a" if x is None else f"{x:.{digits}f}"


def weight_file(ggml, qtype, n, k):
    """A GGUF file holding W (n, k) ~ N(0, 1) (seeded by the shape) quantized by ggml; made on first use."""
    import gguf
    import numpy as np

    folder = os.path.join(os.path.dirname(ggml.build), "qweights")
    path = os.path.join(folder, f"{qtype}-{n}x{k}.gguf")
    if not os.path.exists(path):
        os.makedirs(folder, exist_ok=True)
        w = np.random.default_rng(n * 100003 + k).standard_normal((n, k), dtype=np.float32)
        raw = np.frombuffer(ggml.quantize_ref(qtype, w), dtype=np.uint8).reshape(n, -1)
        writer = gguf.GGUFWriter(path + ".tmp", "ember-bench")
        writer.add_tensor("w", raw, raw_dtype=gguf.GGMLQuantizationType[qtype.upper()])
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(path + ".tmp", path)
    return path


def read_weight(path):
    import gguf
    import numpy as np

    return np.array(gguf.GGUFReader(path).tensors[0].data, dtype=np.uint8).reshape(-1)


def ember_qmatmul(qtype, raw, n, k, x):
    """ember's call on x (a closure), or a reason why there is none."""
    try:
        import ember
    except ImportError as e:
        return None, f"ember: {e}"
    if not hasattr(ember, "qmatmul") or not hasattr(ember, "QTensor"):
        return None, "ember has no qmatmul"
    ember.set_num_threads(int(os.environ["EMBER_NUM_THREADS"]))
    q = ember.QTensor(ember.frombuffer(raw, dtype=ember.uint8), qtype, (n, k))
    tx = ember.from_numpy(x)
    fn = lambda: ember.qmatmul(tx, q)
    try:
        fn()
    except NotImplementedError as e:
        return None, f"ember: {e}"
    return fn, None


def candle_qmatmul(qtype, path, x):
    if qtype not in CANDLE_TYPES:
        return None
    import candle

    q = candle.utils.load_gguf(path)[0]["w"]
    assert q.ggml_dtype == CANDLE_TYPES[qtype], q.ggml_dtype
    tx = candle.Tensor(x)
    return lambda: q.matmul_t(tx)


def time_interleaved(fns, budget, switch_pause=0.02):
    """Median seconds per call of each fn: at least 5 and at most 50 calls each (as many as `budget`
    seconds per library set allows), taken in up to 5 rounds in which the libraries take turns.

    Each turn starts with a pause (ggml's OpenMP workers spin for several ms after a call and would
    take a core from the next library; a library's own idle workers park), then, for a cheap call
    (< 20 ms), an untimed call that wakes this library's workers, then the timed calls: what each
    library sees in a run of consecutive calls of its own."""
    est = {}
    for name, fn in fns.items():
        fn()
        t0 = time.perf_counter()
        fn()
        est[name] = time.perf_counter() - t0
    n = max(5, min(50, int(budget / max(sum(est.values()), 1e-9))))
    rounds = min(n, 5)
    per_turn = -(-n // rounds)
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            time.sleep(switch_pause)
            if est[name] < 0.02:
                fn()
            for _ in range(per_turn):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def worker(qtype, shapes, batches, budget):
    import numpy as np
    from _ggml_peer import GgmlPeer

    threads = int(os.environ["EMBER_NUM_THREADS"])
    ggml = GgmlPeer()
    results, notes = [], []
    for n, k in shapes:
        path = weight_file(ggml, qtype, n, k)
        raw = read_weight(path)
        for m in batches:
            x = np.random.default_rng(m).standard_normal((m, k), dtype=np.float32)
            fns, outs = {}, {}
            for repack in (False, True):
                mm = ggml.matmul(qtype, raw.tobytes(), n, k, m, threads, repack=repack)
                if mm.ok:
                    mm.set_input(x)
                    name = "llama.cpp repack" if repack else "llama.cpp"
                    fns[name] = mm.run
                    outs[name] = mm
            fn, why = ember_qmatmul(qtype, raw, n, k, x)
            if fn:
                fns["ember"] = fn
            elif why not in notes:
                notes.append(why)
            fn = candle_qmatmul(qtype, path, x)
            if fn:
                fns["candle"] = fn
            t = time_interleaved(fns, budget)
            ref = outs["llama.cpp"].output()
            rel = {}
            if "ember" in fns:
                rel["ember"] = float(np.linalg.norm(fns["ember"]().numpy() - ref) / np.linalg.norm(ref))
            if "candle" in fns:
                y = np.asarray(fns["candle"]().values(), dtype=np.float32)
                rel["candle"] = float(np.linalg.norm(y - ref) / np.linalg.norm(ref))
            results.append({"n": n, "k": k, "m": m, "bytes": int(raw.nbytes), "times": t, "rel": rel})
    print(json.dumps({"results": results, "notes": notes, "ggml": ggml.version}))


def row(qtype, threads, r):
    t = r["times"]
    e, c = t.get("ember"), t.get("candle")
    plain, repack = t["llama.cpp"], t.get("llama.cpp repack")
    llama, path = (repack, "repack") if repack is not None and repack < plain else (plain, "plain")
    gbs = lambda s: None if s is None else r["bytes"] / s / 1e9
    ratio = lambda peer: None if e is None or peer is None else peer / e
    ms = lambda s: None if s is None else s * 1e3
    warn = [f"{lib} off by {v:.1e}" for lib, v in r["rel"].items() if v > AGREE_TOL]
    return [qtype, f"{r['n']}x{r['k']}", r["m"], threads, fmt(ms(e), 3), fmt(ms(c), 3), fmt(ms(llama), 3), path,
            fmt(gbs(e), 1), fmt(gbs(llama), 1), fmt(ratio(c), 2), fmt(ratio(llama), 2),
            "; ".join(warn) or "ok"]


def main():
    parser = bench_parser(("QTYPE", "SHAPES", "BATCHES", "BUDGET"), threads=(1, 2))
    parser.add_argument("--types", nargs="*", default=TYPES, choices=TYPES)
    parser.add_argument("--batches", type=int, nargs="*", default=BATCHES)
    parser.set_defaults(repeat=1)
    args = parser.parse_args()
    if args.worker:
        qtype, shapes, batches, budget = args.worker
        shapes = [tuple(int(d) for d in s.split("x")) for s in shapes.split(",")]
        worker(qtype, shapes, [int(b) for b in batches.split(",")], float(budget))
        return

    from _ggml_peer import ensure_ggml

    version = ensure_ggml()[0]
    os.environ["EMBER_BENCH_LLAMA_CPP_VERSION"] = version  # the workers use this build
    shapes = ",".join(f"{n}x{k}" for n, k in (QUICK_SHAPES if args.quick else SHAPES))
    batches = ",".join(map(str, args.batches))
    budget = "0.15" if args.quick else "0.3"
    rows, notes = [], []
    start = time.perf_counter()
    for threads in args.threads:
        for qtype in args.types:
            print(f"[qmatmul] {qtype}, {threads} thread(s), {time.perf_counter() - start:.0f} s", file=sys.stderr)
            try:
                runs = [run_worker(__file__, [qtype, shapes, batches, budget], threads) for _ in range(args.repeat)]
            except RuntimeError as e:
                notes.append(f"{qtype}, {threads} thread(s): {e} (its rows are missing)")
                continue
            notes += [n for n in runs[0]["notes"] if n not in notes]
            for i, r in enumerate(runs[0]["results"]):
                times = {lib: statistics.median(run["results"][i]["times"][lib] for run in runs) for lib in r["times"]}
                rows.append(row(qtype, threads, {**r, "times": times}))
    print(f"y = x @ W.T, W (N, K) quantized by ggml (llama-cpp-python {version}), x (M, K) f32; ms per call "
          f"(median, libraries interleaved); GB/s = weight bytes / time; ratio = peer / ember (> 1: ember faster); "
          f"llama.cpp = the faster of its plain and repacked-weight paths; check: output vs llama.cpp's "
          f"(relative error > {AGREE_TOL:g} flagged)")
    for n in notes:
        print(f"note: {n}")
    print()
    print_table(["type", "N x K", "M", "threads", "ember ms", "candle ms", "llama.cpp ms", "path", "ember GB/s",
                 "llama.cpp GB/s", "ember/candle", "ember/llama.cpp", "check"], rows)


if __name__ == "__main__":
    main()
