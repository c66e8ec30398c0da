"""The thread pool: results do not depend on the number of threads, Python threads can call into
ember concurrently (kernels release the GIL), EMBER_NUM_THREADS is honoured."""

import threading

import numpy as np
import pytest

import ember
from conftest import as_f64, assert_equal, assert_no_crash, run_isolated, to_numpy


def test_set_get_num_threads(threads):
    ember.set_num_threads(1)
    assert ember.get_num_threads() == 1
    ember.set_num_threads(2)
    assert ember.get_num_threads() == 2
    ember.set_num_threads(7)  # more threads than cores is allowed
    assert ember.get_num_threads() == 7
    assert (ember.ones(1 << 20) * 2).sum().item() == 2 * (1 << 20)


def test_env_var_sets_the_pool_size():
    proc = run_isolated(
        """
        import os
        os.environ["EMBER_NUM_THREADS"] = "3"
        import ember
        print(ember.get_num_threads())
        """
    )
    assert_no_crash(proc)
    assert proc.stdout.strip() == "3"


def _cases():
    rng = np.random.default_rng(11)
    big = rng.standard_normal((1024, 2048)).astype(np.float32)
    a = ember.tensor(big)
    b = ember.tensor(rng.standard_normal((2048,)).astype(np.float32))
    h = a.to(ember.bfloat16)
    w = ember.tensor(rng.standard_normal((512, 2048)).astype(np.float32))
    return {
        "add-broadcast": lambda: a + b,
        "mul-transposed": lambda: a.T * 3.0,
        "exp-strided": lambda: ember.exp(a[::2, 1::3]),
        "gelu-bf16": lambda: ember.gelu(h),
        "where": lambda: ember.where(a > 0, a, b),
        "cast": lambda: a.to(ember.float16),
        "sum-all": lambda: a.sum(),
        "sum-rows": lambda: a.sum(1),
        "sum-cols": lambda: a.sum(0),
        "mean-bf16": lambda: h.mean(-1),
        "amax": lambda: a.amax(0),
        "argmax": lambda: a.argmax(1),
        "var": lambda: a.var(1),
        "softmax": lambda: ember.softmax(a, -1),
        "log_softmax-T": lambda: ember.log_softmax(a.T, -1),
        "logsumexp": lambda: ember.logsumexp(a, 0),
        "matmul": lambda: a[:256] @ w.T,
        "gemv": lambda: a[:1] @ w.T,
        "matmul-bf16": lambda: h[:128] @ w.T.to(ember.bfloat16),
        "matmul-batched": lambda: a.reshape(8, 128, 2048) @ w[:64].T,
        "index_select": lambda: a.index_select(0, ember.arange(1023, -1, -3)),
        "contiguous": lambda: a.T.contiguous(),
        "cat": lambda: ember.cat([a, a.T.contiguous().T, a[:, ::2]], 1),
    }


CASES = list(_cases())


@pytest.mark.parametrize("name", CASES)
def test_results_equal_with_1_and_2_threads(name, threads):
    fn = _cases()[name]
    ember.set_num_threads(1)
    r1 = to_numpy(fn())
    ember.set_num_threads(2)
    r2 = to_numpy(fn())
    ember.set_num_threads(1)
    r3 = to_numpy(fn())
    np.testing.assert_array_equal(as_f64(r1), as_f64(r3))  # deterministic
    np.testing.assert_array_equal(as_f64(r1), as_f64(r2), err_msg=f"{name}: 1 thread and 2 threads differ")


def test_concurrent_python_threads(threads):
    ember.set_num_threads(2)
    rng = np.random.default_rng(3)
    mats = [rng.standard_normal((128, 256)).astype(np.float32) for _ in range(4)]
    w = rng.standard_normal((256, 96)).astype(np.float32)
    tw = ember.tensor(w)
    expected = [to_numpy(ember.tensor(m) @ tw) for m in mats]
    results = [None] * 4
    errors = []

    def work(i):
        try:
            for _ in range(20):
                t = ember.tensor(mats[i])
                r = ember.softmax(t @ tw, -1).sum(-1)
                s = to_numpy(t @ tw)
            results[i] = (s, to_numpy(r))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    for i in range(4):
        np.testing.assert_array_equal(results[i][0], expected[i])
        np.testing.assert_allclose(results[i][1], np.ones(128), rtol=1e-5)


def test_gil_is_released_during_kernels(threads):
    """A Python thread keeps running while another thread is inside a long ember kernel."""
    import time

    ember.set_num_threads(1)
    a = ember.ones(1536, 1536)
    t0 = time.perf_counter()
    a @ a
    one = time.perf_counter() - t0  # one kernel call
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    th = threading.Thread(target=ticker)
    th.start()
    time.sleep(0.01)
    start = time.perf_counter()
    for _ in range(3):
        a @ a
    end = time.perf_counter()
    done.set()
    th.join()
    inside = [start] + [t for t in ticks if start < t < end] + [end]
    gaps = np.diff(inside)
    # with the GIL held during a kernel, the ticker would stall for a whole call (about `one` seconds)
    assert gaps.max() < 0.5 * one, (gaps.max(), one)


def test_cpu_features():
    f = ember.cpu_features()
    assert set(f) >= {"arch", "detected", "runnable", "active"}
    assert f["arch"] in ("x86_64", "aarch64", "arm64")
    assert f["active"] in f["runnable"]
    assert "baseline" in f["runnable"]
    assert all(isinstance(x, str) for x in f["detected"])
    if f["arch"] == "x86_64":
        assert "sse2" in f["detected"]
        if "avx2" in f["detected"] and "fma" in f["detected"]:
            assert f["active"] != "baseline"  # the best runnable level is chosen
