"""Fuzzing the weight-file readers with mutated valid files.

``fuzz_reader(loader_expr, valid_files, cases, tmp_path)`` runs, in a child process whose address
space is capped (a reader that trusts a size field and allocates gigabytes fails there with
MemoryError), ``cases`` mutations of the given valid files through ``loader_expr`` (a Python
expression of ``path`` evaluated in the child with ``ember`` imported, e.g.
``"ember.io.load_npy(path)"``). Every case must either load, with every byte of every returned
tensor readable (a QTensor's raw blocks too), or raise ember.io.FileFormatError; anything else
(another exception, a crash, a case that runs over its time) is reported with the seed that
reproduces it.
"""

import json
import os
import subprocess
import sys
import textwrap

ADDRESS_SPACE_LIMIT = 3 << 30
CASE_SECONDS = 5

_CHILD = textwrap.dedent(r'''
    import json, os, random, resource, signal, struct, sys
    import ember, ember.io

    spec = json.loads(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (spec["limit"], spec["limit"]))
    sources = [open(p, "rb").read() for p in spec["files"]]

    def mutate(data, rng):
        data = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            kind = rng.randrange(7)
            if not data:
                data += bytes([rng.randrange(256)])
                continue
            i = rng.randrange(len(data))
            if kind == 0:
                data[i] ^= 1 << rng.randrange(8)
            elif kind == 1:
                data[i] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256)])
            elif kind == 2:
                del data[rng.randrange(len(data)):]
            elif kind == 3:
                data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
            elif kind == 4:
                j = rng.randrange(len(data))
                del data[min(i, j):max(i, j) + 1][:64]
            elif kind == 5:
                big = rng.choice([2**31 - 1, 2**32 - 1, 2**63 - 1, 2**64 - 1, 2**40, rng.randrange(2**16)])
                data[i:i + 8] = struct.pack("<Q", big)[: max(0, min(8, len(data) - i))]
            else:
                digit = rng.choice(b"0123456789")
                data[i] = digit
        return bytes(data)

    def touch(obj):
        if isinstance(obj, ember.Tensor):
            obj.contiguous().sum().item() if obj.numel() else None
        elif hasattr(ember, "QTensor") and isinstance(obj, ember.QTensor):
            touch(obj.data)  # every byte of the raw blocks is readable
        elif isinstance(obj, dict):
            for v in obj.values():
                touch(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                touch(v)

    def timeout(*_):
        raise TimeoutError("case ran past its time limit")

    signal.signal(signal.SIGALRM, timeout)
    path = os.path.join(spec["dir"], "case" + spec["suffix"])
    failures, loaded, rejected = [], 0, 0
    for case in range(spec["cases"]):
        seed = spec["seed"] * 1_000_003 + case
        rng = random.Random(seed)
        data = mutate(rng.choice(sources), rng)
        with open(path, "wb") as f:
            f.write(data)
        signal.alarm(spec["case_seconds"])
        try:
            touch(eval(spec["loader"], {"ember": ember, "path": path}))
            loaded += 1
        except ember.io.FileFormatError:
            rejected += 1
        except BaseException as e:  # noqa: BLE001  (everything else is a finding)
            failures.append({"seed": seed, "error": f"{type(e).__name__}: {e}"[:300]})
        finally:
            signal.alarm(0)
    print(json.dumps({"loaded": loaded, "rejected": rejected, "failures": failures}))
''')


def fuzz_reader(loader_expr, valid_files, cases, tmp_path, seed=0, suffix=""):
    """Returns the child's summary dict; asserts that it finished and found nothing."""
    spec = {"loader": loader_expr, "files": [os.fspath(p) for p in valid_files], "cases": cases,
            "dir": os.fspath(tmp_path), "seed": seed, "suffix": suffix, "limit": ADDRESS_SPACE_LIMIT,
            "case_seconds": CASE_SECONDS}
    env = dict(os.environ, EMBER_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(spec)], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, f"fuzz child died (rc {proc.returncode}): {proc.stderr[-2000:]}"
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["loaded"] + summary["rejected"] + len(summary["failures"]) == cases
    assert not summary["failures"], f"{len(summary['failures'])} failing cases, first: {summary['failures'][:5]}"
    return summary
