"""llama.cpp's ggml as a benchmark peer, through ctypes.

ggml comes from the sdist of llama-cpp-python on PyPI (it vendors llama.cpp under vendor/llama.cpp):
the sdist is downloaded once into the cache dir (EMBER_BENCH_CACHE, default ~/.cache/ember-bench),
only vendor/llama.cpp/ggml is extracted, and ggml is built there with CMake + Ninja as shared
libraries (native CPU flags), one build per llama-cpp-python version.

    ggml = GgmlPeer()                               # builds on first use (a few minutes)
    raw = ggml.quantize_ref("q4_k", w)              # w: float32 (rows, k) -> ggml blocks (bytes)
    w2 = ggml.dequantize("q4_k", raw, w.size)       # -> float32 (n,)
    mm = ggml.matmul("q4_k", raw, n, k, m, threads=2, repack=True)
    y = mm.compute(x)                               # x: float32 (m, k) -> (m, n) = x @ w.T
    mm.set_input(x); mm.run()                       # the graph computation alone (what the bench times)
"""

import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request

import numpy as np

PYPI_JSON = "https://pypi.org/pypi/llama-cpp-python/json"
GGML_PREFIX = "vendor/llama.cpp/ggml/"


def cache_dir():
    return os.path.expanduser(os.environ.get("EMBER_BENCH_CACHE", "~/.cache/ember-bench"))


def _log(msg):
    print(f"[ggml peer] {msg}", file=sys.stderr, flush=True)


def _sdist(version=None):
    """(version, url, sha256) of llama-cpp-python's sdist on PyPI: `version`, or the newest."""
    url = PYPI_JSON if version is None else f"https://pypi.org/pypi/llama-cpp-python/{version}/json"
    with urllib.request.urlopen(url, timeout=60) as r:
        meta = json.load(r)
    version = meta["info"]["version"]
    for f in meta["urls"]:
        if f["packagetype"] == "sdist":
            return version, urllib.parse.urljoin(url, f["url"]), f["digests"]["sha256"]
    raise RuntimeError(f"llama-cpp-python {version} has no sdist on PyPI")


def _download(url, sha256, dest):
    _log(f"downloading {url}")
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=60) as r, open(dest + ".part", "wb") as f:
        while chunk := r.read(1 << 20):
            digest.update(chunk)
            f.write(chunk)
    if digest.hexdigest() != sha256:
        raise RuntimeError(f"{url}: sha256 {digest.hexdigest()} is not PyPI's {sha256}")
    os.replace(dest + ".part", dest)


def _cached_versions(root, kind="ggml"):
    """llama-cpp-python versions with a finished `kind` build ("ggml" or "llama-bench") in root."""
    out = []
    for name in os.listdir(root) if os.path.isdir(root) else []:
        if name.startswith(kind + "-") and os.path.exists(os.path.join(root, name, "build", ".done")):
            out.append(name[len(kind) + 1:])
    return sorted(out, key=lambda v: [int(p) if p.isdigit() else 0 for p in v.split(".")])


def _resolve(version, kind):
    """(version, sdist or None): `version`, else EMBER_BENCH_LLAMA_CPP_VERSION, else PyPI's newest,
    else, offline, the newest `kind` build already in the cache."""
    root = cache_dir()
    os.makedirs(root, exist_ok=True)
    version = version or os.environ.get("EMBER_BENCH_LLAMA_CPP_VERSION")
    if version is not None:
        return version, None
    try:
        sdist = _sdist()
        return sdist[0], sdist
    except OSError as e:
        cached = _cached_versions(root, kind)
        if not cached:
            raise RuntimeError(f"cannot reach PyPI ({e}) and no {kind} build is cached in {root}") from e
        _log(f"PyPI unreachable ({e}); using the cached {kind} build of llama-cpp-python {cached[-1]}")
        return cached[-1], None


def _tarball(version, sdist):
    """The sdist of llama-cpp-python `version` in the cache dir, downloaded once."""
    tarball = os.path.join(cache_dir(), f"llama_cpp_python-{version}.tar.gz")
    if not os.path.exists(tarball):
        _download(*(sdist or _sdist(version))[1:], tarball)
    return tarball


def _extract_subtree(tarball, prefix, dest, skip=()):
    """Extracts <top>/<prefix>** of the sdist into dest (so dest is the prefix dir itself), leaving out
    the paths (relative to prefix) that start with one of `skip`."""
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(tarball) as tf:
        members = []
        for m in tf.getmembers():
            parts = m.name.split("/", 1)
            if len(parts) == 2 and parts[1].startswith(prefix) and (m.isfile() or m.isdir()):
                m.name = parts[1][len(prefix):]
                if m.name and not m.name.startswith(tuple(skip)):
                    members.append(m)
        if not members:
            raise RuntimeError(f"{tarball} has no {prefix}")
        tf.extractall(tmp, members=members, filter="data")
    return tmp


def _extract_ggml(tarball, dest):
    """Extracts <top>/vendor/llama.cpp/ggml/** of the sdist into dest (the ggml dir itself)."""
    tmp = _extract_subtree(tarball, GGML_PREFIX, dest)
    # The sdist leaves out ggml.pc.in, which a standalone configure of ggml reads (for pkg-config only).
    pc_in = os.path.join(tmp, "ggml.pc.in")
    if not os.path.exists(pc_in):
        open(pc_in, "w").close()
    os.replace(tmp, dest)


def _build(src, build, defines, target=None, nice=False):
    """Configures src with CMake + Ninja (Release, native CPU flags, ccache when present) and builds
    `target` (default: all); marks build/.done. EMBER_BENCH_JOBS: parallel jobs (default min(cores, 2))."""
    args = ["cmake", "-S", src, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=ON", *defines]
    if shutil.which("ccache"):
        args += ["-DCMAKE_C_COMPILER_LAUNCHER=ccache", "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"]
    jobs = os.environ.get("EMBER_BENCH_JOBS", str(min(os.cpu_count() or 1, 2)))
    make = ["cmake", "--build", build, "-j", jobs] + (["--target", target] if target else [])
    prefix = ["nice", "-n", "10"] if nice and shutil.which("nice") else []
    log = os.path.join(os.path.dirname(build), "build.log")
    with open(log, "w") as f:
        for cmd in (args, prefix + make):
            if subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=False).returncode != 0:
                raise RuntimeError(f"building {os.path.basename(src)} failed, see {log}")
    open(os.path.join(build, ".done"), "w").close()


def ensure_ggml(version=None):
    """Builds ggml if needed; returns (version, ggml source dir, build dir).

    version: a llama-cpp-python version (default: EMBER_BENCH_LLAMA_CPP_VERSION, else PyPI's newest,
    else, offline, the newest build already in the cache)."""
    version, sdist = _resolve(version, "ggml")
    work = os.path.join(cache_dir(), f"ggml-{version}")
    src, build = os.path.join(work, "ggml"), os.path.join(work, "build")
    if os.path.exists(os.path.join(build, ".done")):
        return version, src, build
    tarball = _tarball(version, sdist)
    os.makedirs(work, exist_ok=True)
    if not os.path.isdir(src):
        _extract_ggml(tarball, src)
    _log(f"building ggml of llama-cpp-python {version} in {build} (a few minutes)")
    _build(src, build, ["-DGGML_BUILD_TESTS=OFF", "-DGGML_BUILD_EXAMPLES=OFF", "-DBUILD_SHARED_LIBS=ON"])
    return version, src, build


LLAMA_PREFIX = "vendor/llama.cpp/"
# llama.cpp as llama-bench needs it: the libraries (static), llama-common, the tools dir; no tests,
# examples, server, network code.
LLAMA_BENCH_DEFINES = ["-DBUILD_SHARED_LIBS=OFF", "-DLLAMA_BUILD_COMMON=ON", "-DLLAMA_BUILD_TOOLS=ON",
                       "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=OFF",
                       "-DLLAMA_BUILD_APP=OFF", "-DLLAMA_OPENSSL=OFF", "-DLLAMA_CURL=OFF",
                       "-DGGML_BUILD_TESTS=OFF", "-DGGML_BUILD_EXAMPLES=OFF"]


def ensure_llama_bench(version=None):
    """Builds llama.cpp's llama-bench tool (from the same sdist as ggml above) if needed, at nice 10;
    returns (version, path of the llama-bench executable)."""
    version, sdist = _resolve(version, "llama-bench")
    work = os.path.join(cache_dir(), f"llama-bench-{version}")
    src, build = os.path.join(work, "llama.cpp"), os.path.join(work, "build")
    exe = os.path.join(build, "bin", "llama-bench")
    if os.path.exists(os.path.join(build, ".done")):
        return version, exe
    tarball = _tarball(version, sdist)
    os.makedirs(work, exist_ok=True)
    if not os.path.isdir(src):
        os.replace(_extract_subtree(tarball, LLAMA_PREFIX, src, skip=(".git",)), src)
    _log(f"building llama-bench of llama-cpp-python {version} in {build} (several minutes)")
    _build(src, build, LLAMA_BENCH_DEFINES, target="llama-bench", nice=True)
    if not os.path.exists(exe):
        raise RuntimeError(f"the llama.cpp build in {build} made no {exe}")
    return version, exe


# ggml_type ids (enum ggml_type in ggml.h).
GGML_TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8, "q2_k": 10, "q3_k": 11,
              "q4_k": 12, "q5_k": 13, "q6_k": 14, "iq4_nl": 20, "iq4_xs": 23}
GGML_STATUS_SUCCESS = 0

P = ctypes.c_void_p
TO_FLOAT = ctypes.CFUNCTYPE(None, P, P, ctypes.c_int64)
LOG_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, P)
GGML_LOG_LEVEL_WARN, GGML_LOG_LEVEL_CONT = 3, 5


@LOG_CALLBACK
def _log_warnings(level, text, _user):  # ggml's debug / info lines ("repack: repack tensor ...") dropped
    if GGML_LOG_LEVEL_WARN <= level < GGML_LOG_LEVEL_CONT:
        sys.stderr.write(text.decode(errors="replace"))


class InitParams(ctypes.Structure):  # struct ggml_init_params
    _fields_ = [("mem_size", ctypes.c_size_t), ("mem_buffer", P), ("no_alloc", ctypes.c_bool)]


class TypeTraits(ctypes.Structure):  # struct ggml_type_traits
    _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64),
                ("blck_size_interleave", ctypes.c_int64), ("type_size", ctypes.c_size_t),
                ("is_quantized", ctypes.c_bool), ("to_float", TO_FLOAT), ("from_float_ref", P)]


# name: (restype, argtypes), as declared in ggml.h, ggml-alloc.h, ggml-backend.h, ggml-cpu.h
_SIGNATURES = {
    "ggml_init": (P, [InitParams]),
    "ggml_free": (None, [P]),
    "ggml_log_set": (None, [LOG_CALLBACK, P]),
    "ggml_tensor_overhead": (ctypes.c_size_t, []),
    "ggml_graph_overhead": (ctypes.c_size_t, []),
    "ggml_new_tensor_2d": (P, [P, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]),
    "ggml_nbytes": (ctypes.c_size_t, [P]),
    "ggml_row_size": (ctypes.c_size_t, [ctypes.c_int, ctypes.c_int64]),
    "ggml_mul_mat": (P, [P, P, P]),
    "ggml_new_graph": (P, [P]),
    "ggml_build_forward_expand": (None, [P, P]),
    "ggml_get_type_traits": (ctypes.POINTER(TypeTraits), [ctypes.c_int]),
    "ggml_quantize_chunk": (ctypes.c_size_t, [ctypes.c_int, P, P, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, P]),
    "ggml_backend_alloc_ctx_tensors": (P, [P, P]),
    "ggml_backend_alloc_ctx_tensors_from_buft": (P, [P, P]),
    "ggml_backend_buffer_free": (None, [P]),
    "ggml_backend_buft_name": (ctypes.c_char_p, [P]),
    "ggml_backend_cpu_buffer_type": (P, []),
    "ggml_backend_tensor_set": (None, [P, P, ctypes.c_size_t, ctypes.c_size_t]),
    "ggml_backend_tensor_get": (None, [P, P, ctypes.c_size_t, ctypes.c_size_t]),
    "ggml_backend_graph_compute": (ctypes.c_int, [P, P]),
    "ggml_backend_free": (None, [P]),
    "ggml_backend_get_device": (P, [P]),
    "ggml_backend_dev_supports_op": (ctypes.c_bool, [P, P]),
    "ggml_backend_reg_get_proc_address": (P, [P, ctypes.c_char_p]),
    "ggml_backend_cpu_init": (P, []),
    "ggml_backend_cpu_reg": (P, []),
    "ggml_backend_cpu_set_n_threads": (None, [P, ctypes.c_int]),
}


def _load(build):
    libs = [ctypes.CDLL(os.path.join(build, "src", f"libggml{part}.so"), mode=ctypes.RTLD_GLOBAL)
            for part in ("-base", "-cpu", "")]
    fns = {}
    for name, (restype, argtypes) in _SIGNATURES.items():
        for lib in libs:
            if hasattr(lib, name):
                fn = getattr(lib, name)
                fn.restype, fn.argtypes = restype, argtypes
                fns[name] = fn
                break
        else:
            raise RuntimeError(f"{name} is missing from the ggml build in {build}")
    return fns


def _ptr(a):
    return ctypes.c_void_p(a.ctypes.data)


class GgmlPeer:
    def __init__(self, version=None):
        self.version, self.src, self.build = ensure_ggml(version)
        self.f = _load(self.build)
        self.f["ggml_log_set"](_log_warnings, None)
        reg = self.f["ggml_backend_cpu_reg"]()
        get_extra = self.f["ggml_backend_reg_get_proc_address"](reg, b"ggml_backend_dev_get_extra_bufts")
        self.repack_buft = None
        if get_extra:
            fn = ctypes.CFUNCTYPE(ctypes.POINTER(P), P)(get_extra)
            bufts = fn(None)  # the CPU device ignores its argument
            i = 0
            while bufts[i]:
                if self.f["ggml_backend_buft_name"](bufts[i]) == b"CPU_REPACK":
                    self.repack_buft = bufts[i]
                i += 1

    def _traits(self, qtype):
        return self.f["ggml_get_type_traits"](GGML_TYPES[qtype]).contents

    def row_size(self, qtype, k):
        return self.f["ggml_row_size"](GGML_TYPES[qtype], k)

    def quantize_ref(self, qtype, x):
        """ggml's quantization without an importance matrix (llama-quantize's path; for these types the
        same as quantize_row_<type>_ref) of the rows of x: float32 (rows, k) -> bytes."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        rows, k = x.shape
        out = np.empty(rows * self.row_size(qtype, k), dtype=np.uint8)
        n = self.f["ggml_quantize_chunk"](GGML_TYPES[qtype], _ptr(x), _ptr(out), 0, rows, k, None)
        assert n == out.nbytes, (n, out.nbytes)
        return out.tobytes()

    def quantize_row_ref(self, qtype, x):
        """ggml's quantize_row_<type>_ref over all of x (differs from quantize_ref only for iq4_nl, whose
        _ref row skips the scale search that llama-quantize does)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.empty(x.shape[0] * self.row_size(qtype, x.shape[-1]), dtype=np.uint8)
        lib = ctypes.CDLL(os.path.join(self.build, "src", "libggml-base.so"))
        fn = getattr(lib, f"quantize_row_{qtype.replace('_k', '_K')}_ref")
        fn.restype, fn.argtypes = None, [P, P, ctypes.c_int64]
        fn(_ptr(x), _ptr(out), x.size)
        return out.tobytes()

    def dequantize(self, qtype, raw, n):
        """ggml's to_float of n elements stored as qtype blocks in raw -> float32 (n,)."""
        buf = np.frombuffer(raw, dtype=np.uint8)
        assert buf.nbytes == self.row_size(qtype, n), "raw holds a different number of blocks"
        out = np.empty(n, dtype=np.float32)
        self._traits(qtype).to_float(_ptr(buf), _ptr(out), n)
        return out

    def matmul(self, qtype, raw, n, k, m, threads, repack=False):
        """ggml_mul_mat on the CPU backend: weight (n, k) of qtype holding raw, activation (m, k) f32.
        With repack=True the weight lives in the CPU_REPACK buffer (llama.cpp's default for the types
        it repacks); returns None when that path does not take this type / shape."""
        return _MatMul(self, qtype, raw, n, k, m, threads, repack)


class _MatMul:
    def __init__(self, peer, qtype, raw, n, k, m, threads, repack):
        f = self.f = peer.f
        self.ok = False
        self.m, self.n = m, n
        self.backend = f["ggml_backend_cpu_init"]()
        f["ggml_backend_cpu_set_n_threads"](self.backend, threads)
        overhead = f["ggml_tensor_overhead"]()
        self.ctx_w = f["ggml_init"](InitParams(4 * overhead, None, True))
        self.ctx = f["ggml_init"](InitParams(8 * overhead + f["ggml_graph_overhead"](), None, True))
        self.buf_w = self.buf = None
        self.w = f["ggml_new_tensor_2d"](self.ctx_w, GGML_TYPES[qtype], k, n)
        self.x = f["ggml_new_tensor_2d"](self.ctx, GGML_TYPES["f32"], k, m)
        self.y = f["ggml_mul_mat"](self.ctx, self.w, self.x)
        self.graph = f["ggml_new_graph"](self.ctx)
        f["ggml_build_forward_expand"](self.graph, self.y)
        buft = peer.repack_buft if repack else f["ggml_backend_cpu_buffer_type"]()
        if buft is None:
            return
        self.buf_w = f["ggml_backend_alloc_ctx_tensors_from_buft"](self.ctx_w, buft)
        self.buf = f["ggml_backend_alloc_ctx_tensors"](self.ctx, self.backend)
        if not self.buf_w or not self.buf:
            raise MemoryError("ggml could not allocate the matmul tensors")
        # The repack buffer only takes the types / shapes it has a layout for (others would crash in set).
        if repack and not f["ggml_backend_dev_supports_op"](f["ggml_backend_get_device"](self.backend), self.y):
            return
        assert len(raw) == f["ggml_nbytes"](self.w)
        f["ggml_backend_tensor_set"](self.w, raw, 0, len(raw))
        self.ok = True

    def set_input(self, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        assert x.shape[0] == self.m
        self.f["ggml_backend_tensor_set"](self.x, _ptr(x), 0, x.nbytes)

    def run(self):
        status = self.f["ggml_backend_graph_compute"](self.backend, self.graph)
        if status != GGML_STATUS_SUCCESS:
            raise RuntimeError(f"ggml_backend_graph_compute returned {status}")

    def output(self):
        y = np.empty((self.m, self.n), dtype=np.float32)
        self.f["ggml_backend_tensor_get"](self.y, _ptr(y), 0, y.nbytes)
        return y

    def compute(self, x):
        self.set_input(x)
        self.run()
        return self.output()

    def __del__(self):
        f = self.f
        for buf in (self.buf_w, self.buf):
            if buf:
                f["ggml_backend_buffer_free"](buf)
        f["ggml_free"](self.ctx_w)
        f["ggml_free"](self.ctx)
        f["ggml_backend_free"](self.backend)


if __name__ == "__main__":
    print(ensure_llama_bench() if sys.argv[1:] == ["llama-bench"] else ensure_ggml())
