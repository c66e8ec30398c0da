"""Quantization error: RMSE of dequantize(quantize(x)) - x for x ~ N(0, 1) of shape (256, 4096), for
ember's quantizer, llama.cpp's and the gguf package's (gguf.quants, for the types it quantizes).

llama.cpp: ggml_quantize_chunk without an importance matrix, which is what llama-quantize does
without --imatrix, and the reference of --check. The "row _ref" column is ggml's
quantize_row_<type>_ref: the same blocks except for iq4_nl, whose _ref row skips the scale search.
"same bytes": ember's blocks equal ggml_quantize_chunk's byte for byte.

    python bench/quant_rmse.py
    python bench/quant_rmse.py --check     # exit 1 if ember's RMSE exceeds llama.cpp's by > 0.1 %
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import print_table
from _ggml_peer import GgmlPeer

TYPES = ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "iq4_nl", "iq4_xs"]
ROWS, COLS = 256, 4096
TOL = 1e-3  # relative excess of ember's RMSE over llama.cpp's that --check allows


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a, dtype=np.float64).reshape(b.shape) - b) ** 2)))


def ember_roundtrip(qtype, x):
    """(dequantized, raw bytes) from ember's quantizer, or (None, reason)."""
    try:
        import ember
    except ImportError as e:
        return None, f"ember: {e}"
    if not hasattr(ember, "quantize"):
        return None, "ember has no quantize"
    try:
        q = ember.quantize(ember.from_numpy(x), qtype)
        return q.dequantize().numpy(), q.data.numpy().tobytes()
    except NotImplementedError as e:
        return None, f"ember: {e}"


def gguf_roundtrip(qtype, x):
    import gguf.quants

    kind = gguf.GGMLQuantizationType[qtype.upper()]
    try:
        return gguf.quants.dequantize(gguf.quants.quantize(x, kind), kind)
    except NotImplementedError:
        return None


def fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--types", nargs="*", default=TYPES, choices=TYPES)
    parser.add_argument("--check", action="store_true", help=f"fail if ember's RMSE > llama.cpp's * (1 + {TOL:g})")
    args = parser.parse_args()

    ggml = GgmlPeer()
    x = np.random.default_rng(0).standard_normal((ROWS, COLS), dtype=np.float32)
    rows, notes, failed = [], [], []
    for qtype in args.types:
        raw = ggml.quantize_ref(qtype, x)
        ref = rmse(ggml.dequantize(qtype, raw, x.size), x)
        ember_deq, ember_raw = ember_roundtrip(qtype, x)
        ember = None
        if ember_deq is None:
            notes.append(ember_raw)
        else:
            ember = rmse(ember_deq, x)
        row_ref = rmse(ggml.dequantize(qtype, ggml.quantize_row_ref(qtype, x), x.size), x)
        g = gguf_roundtrip(qtype, x)
        excess = None if ember is None else ember / ref - 1
        if args.check and (excess is None or excess > TOL):
            failed.append(qtype)
        same = None if ember is None else ("yes" if ember_raw == raw else "no")
        rows.append([qtype, fmt(ember, ".6f"), f"{ref:.6f}", f"{row_ref:.6f}", fmt(None if g is None else rmse(g, x), ".6f"),
                     fmt(None if excess is None else 100 * excess, "+.3f"), fmt(same, "")])
    print(f"RMSE of dequantize(quantize(x)) - x, x ~ N(0, 1) ({ROWS} x {COLS}, seed 0); "
          f"llama.cpp = ggml of llama-cpp-python {ggml.version}")
    for n in notes:
        print(f"note: {n}")
    print()
    print_table(["type", "ember", "llama.cpp", "row _ref", "gguf-py", "ember vs llama.cpp %", "same bytes"], rows)
    if failed:
        print(f"\nFAIL: ember's RMSE is missing or exceeds llama.cpp's by more than {100 * TOL:g} % for: "
              + ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
