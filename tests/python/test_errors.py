"""Bad input raises the right Python exception, with a message that names the op and the
shapes / dtypes involved. Inputs that could take the process down run in a subprocess."""

import re

import numpy as np
import pytest

import ember
from conftest import assert_no_crash, run_isolated


def raises(exc, fn, *needles):
    """fn() raises exc and every needle (a plain substring) is in the message."""
    with pytest.raises(exc) as info:
        fn()
    msg = str(info.value)
    for n in needles:
        assert n in msg, f"{n!r} not in the message {msg!r}"
    return msg


# ---------------------------------------------------------------------------------------------
# shapes


@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b, lambda a, b: a // b,
        lambda a, b: a % b, lambda a, b: a**b, lambda a, b: a == b, lambda a, b: a < b, lambda a, b: ember.maximum(a, b),
        lambda a, b: ember.atan2(a, b), lambda a, b: ember.where(a > 0, a, b),
    ],
)
def test_broadcast_mismatch_names_shapes(op):
    a, b = ember.ones(2, 3), ember.ones(4)
    msg = raises(ValueError, lambda: op(a, b), "(2, 3)", "(4,)")
    assert "broadcast" in msg


@pytest.mark.parametrize(
    "name, fn, exc, needles",
    [
        ("add", lambda: ember.add(ember.ones(2, 3), ember.ones(3, 2)), ValueError, ["add", "(2, 3)", "(3, 2)"]),
        ("mul_", lambda: ember.ones(3).mul_(ember.ones(2, 3)), ValueError, ["mul", "(2, 3)", "(3,)"]),
        ("matmul", lambda: ember.ones(2, 3) @ ember.ones(2, 3), ValueError, ["matmul", "(2, 3)"]),
        ("matmul-batch", lambda: ember.ones(2, 2, 3) @ ember.ones(3, 3, 4), ValueError, ["matmul"]),
        ("cat", lambda: ember.cat([ember.ones(2, 3), ember.ones(3, 4)]), ValueError, ["cat", "(2, 3)", "(3, 4)"]),
        ("stack", lambda: ember.stack([ember.ones(2), ember.ones(3)]), ValueError, ["stack", "(2,)", "(3,)"]),
        ("reshape", lambda: ember.ones(2, 3).reshape(4, 2), ValueError, ["reshape", "(4, 2)"]),
        ("view", lambda: ember.ones(2, 3).T.view(6), ValueError, ["view", "(6,)"]),
        ("expand", lambda: ember.ones(2, 3).expand(2, 4), ValueError, ["expand", "(2, 3)"]),
        ("masked_fill", lambda: ember.ones(2, 3).masked_fill(ember.ones(3, 3, dtype=ember.bool_), 0.0), ValueError, ["masked_fill", "(3, 3)"]),
        ("copy_", lambda: ember.ones(2, 3).copy_(ember.ones(4)), ValueError, ["copy_", "(4,)", "(2, 3)"]),
        ("setitem", lambda: ember.ones(2, 3).__setitem__(0, ember.ones(2)), ValueError, ["(2,)", "(3,)"]),
        ("gather", lambda: ember.ones(2, 3).gather(0, ember.zeros(3, dtype=ember.int64)), ValueError, ["gather", "(3,)"]),
        ("scatter_add", lambda: ember.ones(2, 3).scatter_add(0, ember.zeros(1, 4, dtype=ember.int64), ember.ones(1, 4)), ValueError, ["scatter_add", "(1, 4)"]),
        ("split", lambda: ember.ones(5).split([2, 2]), ValueError, ["split", "(2, 2)", "5"]),
        ("flatten", lambda: ember.ones(2, 3, 4).flatten(2, 0), ValueError, ["flatten"]),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_shape_errors(name, fn, exc, needles):
    raises(exc, fn, *needles)


# ---------------------------------------------------------------------------------------------
# dims


@pytest.mark.parametrize(
    "op, fn",
    [
        ("sum", lambda t: t.sum(3)), ("mean", lambda t: t.mean(-4)), ("amax", lambda t: t.amax(3)), ("argmax", lambda t: t.argmax(3)),
        ("softmax", lambda t: t.softmax(3)), ("log_softmax", lambda t: t.log_softmax(-4)), ("transpose", lambda t: t.transpose(0, 3)),
        ("unsqueeze", lambda t: t.unsqueeze(5)), ("squeeze", lambda t: t.squeeze(3)), ("narrow", lambda t: t.narrow(3, 0, 1)),
        ("index_select", lambda t: t.index_select(3, ember.tensor([0]))), ("gather", lambda t: t.gather(3, ember.zeros(1, 1, 1, dtype=ember.int64))),
        ("cat", lambda t: ember.cat([t, t], 3)), ("stack", lambda t: ember.stack([t, t], 5)), ("var", lambda t: t.var(3)),
        ("logsumexp", lambda t: t.logsumexp(3)), ("chunk", lambda t: t.chunk(2, 3)), ("split", lambda t: t.split(1, 3)),
        ("unbind", lambda t: t.unbind(3)), ("flatten", lambda t: t.flatten(0, 3)), ("permute", lambda t: t.permute(0, 1, 3)),
        ("all", lambda t: t.all(3)), ("prod", lambda t: t.prod(-5)),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_bad_dim_raises_index_error_naming_op(op, fn):
    t = ember.ones(2, 3, 4)
    msg = raises(IndexError, lambda: fn(t))
    assert {"amax": "max"}.get(op, op) in msg and "dim" in msg, msg  # amax may report itself as max
    assert re.search(r"-?\d", msg), msg


# ---------------------------------------------------------------------------------------------
# dtypes


@pytest.mark.parametrize(
    "op, fn, exc, needles",
    [
        ("bitwise_and", lambda: ember.ones(2) & ember.ones(2), TypeError, ["bitwise_and", "float32"]),
        ("bitwise_not", lambda: ~ember.ones(2, dtype=ember.float16), TypeError, ["bitwise_not", "float16"]),
        ("sub-bool", lambda: ember.ones(2, dtype=ember.bool_) - ember.ones(2, dtype=ember.bool_), TypeError, ["sub", "bool"]),
        ("neg-bool", lambda: -ember.ones(2, dtype=ember.bool_), TypeError, ["neg", "bool"]),
        ("matmul-int", lambda: ember.ones(2, 2, dtype=ember.int32) @ ember.ones(2, 2, dtype=ember.int32), NotImplementedError, ["matmul", "int32"]),
        ("rand-int", lambda: ember.rand(2, dtype=ember.int64), TypeError, ["rand", "int64"]),
        ("randn-bool", lambda: ember.randn(2, dtype=ember.bool_), TypeError, ["randn", "bool"]),
        ("index-float", lambda: ember.ones(3).index_select(0, ember.tensor([0.0])), TypeError, ["index_select", "float32"]),
        ("gather-u8", lambda: ember.ones(3).gather(0, ember.tensor([0], dtype=ember.uint8)), TypeError, ["gather", "uint8"]),
        ("masked_fill", lambda: ember.ones(3).masked_fill(ember.ones(3), 0.0), TypeError, ["masked_fill", "float32"]),
        ("masked_select", lambda: ember.ones(3).masked_select(ember.ones(3, dtype=ember.int32)), TypeError, ["masked_select", "int32"]),
        ("inplace-float-into-int", lambda: ember.ones(3, dtype=ember.int32).add_(0.5), TypeError, ["add", "int32"]),
        ("inplace-div-int", lambda: ember.ones(3, dtype=ember.int64).div_(2), TypeError, ["div", "int64"]),
        ("clamp-bool", lambda: ember.ones(3, dtype=ember.bool_).clamp(0, 1), TypeError, ["clamp", "bool"]),
        ("unknown", lambda: ember.ones(3, dtype="complex64"), TypeError, ["complex64"]),
        ("to-unknown", lambda: ember.ones(3).to("int16"), TypeError, ["int16"]),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_dtype_errors(op, fn, exc, needles):
    raises(exc, fn, *needles)


# ---------------------------------------------------------------------------------------------
# devices


@pytest.mark.parametrize("dev", ["cuda", "cuda:0", "metal"])
@pytest.mark.parametrize(
    "make",
    [
        lambda d: ember.zeros(2, device=d), lambda d: ember.ones(2, 2, device=d), lambda d: ember.full((2,), 1.0, device=d),
        lambda d: ember.arange(3, device=d), lambda d: ember.rand(2, device=d), lambda d: ember.eye(2, device=d),
        lambda d: ember.tensor([1, 2], device=d), lambda d: ember.ones(2).to(d), lambda d: ember.zeros_like(ember.ones(2), device=d),
        lambda d: ember.linspace(0, 1, 3, device=d),
    ],
)
def test_unavailable_device_is_a_clear_runtime_error(dev, make):
    msg = raises(RuntimeError, lambda: make(dev))
    assert dev.split(":")[0] in msg.lower(), msg


def test_cuda_method_errors_clearly():
    raises(RuntimeError, lambda: ember.ones(2).cuda(), "cuda")


def test_bad_device_specs():
    with pytest.raises((ValueError, RuntimeError), match="tpu"):
        ember.zeros(2, device="tpu")
    with pytest.raises((ValueError, RuntimeError), match="cuda:x|cuda"):
        ember.zeros(2, device="cuda:x")
    with pytest.raises(TypeError, match="device"):
        ember.zeros(2, device=1.5)


# ---------------------------------------------------------------------------------------------
# sizes


@pytest.mark.parametrize(
    "name, fn, needles",
    [
        ("zeros-2^80", lambda: ember.zeros(2**40, 2**40), ["(1099511627776, 1099511627776)", "int64"]),
        ("empty-2^64", lambda: ember.empty(2**31, 2**31, 4), ["int64"]),
        ("ones-uint8-2^124", lambda: ember.ones(3, 2**62, 2**62, dtype=ember.uint8), ["int64"]),
        ("full-2^66", lambda: ember.full((2**33, 2**33), 1.0), ["int64"]),
        ("reshape-2^124", lambda: ember.ones(4).reshape(2**62, 2**62, 0), ["reshape"]),
        ("expand-2^124", lambda: ember.ones(1, 1).expand(2**62, 2**62), ["expand"]),
        ("broadcast_to-2^80", lambda: ember.broadcast_to(ember.ones(1), (2**40, 2**40)), ["broadcast_to"]),
        ("expanded-add-2^80", lambda: ember.ones(1).expand(2**40, 2**40) + 1, ["int64"]),
        ("zeros-neg", lambda: ember.zeros(-1), ["-1"]),
        ("zeros-neg2", lambda: ember.zeros(3, -2), ["-2"]),
        ("reshape-neg0", lambda: ember.ones(2).reshape(-1, 0), ["reshape"]),
        ("arange-2^62", lambda: ember.arange(0, 2**62), ["arange"]),
        ("eye-neg", lambda: ember.eye(-1), ["eye"]),
        ("linspace-neg", lambda: ember.linspace(0, 1, -5), ["linspace"]),
        ("unflatten-2^124", lambda: ember.ones(3).unflatten(0, (2**62, 2**62)), ["unflatten"]),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_size_errors(name, fn, needles):
    raises(ValueError, fn, *needles)


def test_numbers_out_of_int64_range():
    raises(ValueError, lambda: ember.ones(2, dtype=ember.int64) + 2**70, "add", "int64")
    raises(ValueError, lambda: ember.tensor([2**64]), "int64")
    raises(ValueError, lambda: ember.zeros(2**63), "int64")
    raises(ValueError, lambda: ember.full((2,), 2**70), "full", "int64")


def test_index_beyond_int64_is_an_index_error():
    with pytest.raises(IndexError):
        ember.ones(3)[2**64]
    with pytest.raises(IndexError):
        ember.ones(3)[-(2**64)]


def test_linspace_too_many_steps_names_the_op():
    with pytest.raises((ValueError, MemoryError), match="linspace"):
        ember.linspace(0, 1, 2**62)


def test_allocations_beyond_memory_fail_cleanly():
    proc = run_isolated(
        """
        import ember
        out = []
        for make in (lambda: ember.empty(2**40), lambda: ember.zeros(2**38, dtype=ember.float64),
                     lambda: ember.ones(2**20).expand(2**20, 2**20).contiguous(), lambda: ember.arange(2**45),
                     lambda: ember.ones(2**20, 1) @ ember.ones(1, 2**20)):
            try:
                make()
                out.append("allocated")
            except (MemoryError, ValueError, RuntimeError) as e:
                out.append(type(e).__name__)
        print(",".join(out))
        """,
        timeout=120,
    )
    assert_no_crash(proc)
    assert "allocated" not in proc.stdout, proc.stdout


# ---------------------------------------------------------------------------------------------
# indices


@pytest.mark.parametrize(
    "fn, exc, needles",
    [
        (lambda t: t[3], IndexError, ["3", "size 3"]),
        (lambda t: t[0, -5], IndexError, ["-5", "size 4"]),
        (lambda t: t[:, :, 0], IndexError, ["too many indices"]),
        (lambda t: t[[0, 3]], IndexError, ["3", "out of bounds"]),
        (lambda t: t[:, [4]], IndexError, ["4", "out of bounds"]),
        (lambda t: t.index_select(0, ember.tensor([5])), IndexError, ["index_select", "5", "size 3"]),
        (lambda t: t.index_select(1, ember.tensor([0, -5])), IndexError, ["index_select", "-5", "size 4"]),
        (lambda t: t.gather(1, ember.tensor([[0], [4], [1]])), IndexError, ["gather", "4", "size 4"]),
        (lambda t: t.gather(0, ember.tensor([[0, 1, 9, 0]])), IndexError, ["gather", "9", "size 3"]),
        (lambda t: t.scatter_add(0, ember.tensor([[3, 0, 0, 0]]), ember.ones(1, 4)), IndexError, ["scatter_add", "3", "size 3"]),
        (lambda t: t.scatter_add(1, ember.tensor([[2**40]]), ember.ones(1, 1)), IndexError, ["scatter_add", "out of bounds"]),
        (lambda t: t.index_select(0, ember.tensor([2**62])), IndexError, ["index_select"]),
        (lambda t: t.index_select(0, ember.tensor([-(2**63)])), IndexError, ["index_select"]),
        (lambda t: t.__setitem__([5], 1.0), IndexError, ["5", "out of bounds"]),
        (lambda t: t.narrow(1, 3, 2), IndexError, ["narrow"]),
        (lambda t: t[ember.tensor([True, False])], IndexError, ["mask", "(2,)"]),
    ],
)
def test_out_of_range_indices(fn, exc, needles):
    t = ember.ones(3, 4)
    raises(exc, lambda: fn(t), *needles)


def test_out_of_range_int32_indices():
    t = ember.ones(3, 4)
    raises(IndexError, lambda: t.index_select(1, ember.tensor([7], dtype=ember.int32)), "index_select", "7")
    raises(IndexError, lambda: t.gather(1, ember.tensor([[-9]], dtype=ember.int32)), "gather", "-9")


# ---------------------------------------------------------------------------------------------
# construction from Python data


@pytest.mark.parametrize(
    "data, exc, needles",
    [
        ([[1, 2], [3]], ValueError, ["rectangular"]),
        ([[1], [2, 3]], ValueError, ["rectangular"]),
        ([[1], 2], ValueError, ["rectangular"]),
        ([1, [2]], (ValueError, TypeError), ["tensor"]),
        ([[[1, 2]], [[3]]], ValueError, ["rectangular"]),
        ([[1, 2], []], ValueError, ["tensor"]),
        (["a"], TypeError, ["str"]),
        ([None], TypeError, ["NoneType"]),
        ([1 + 2j], TypeError, ["complex"]),
        ({1, 2}, TypeError, ["set"]),
        ("abc", TypeError, ["str"]),
        (None, TypeError, ["NoneType"]),
        ([ember.ones(2), ember.ones(3)], ValueError, ["(3,)"]),
    ],
)
def test_bad_nested_data(data, exc, needles):
    raises(exc, lambda: ember.tensor(data), *needles)


def test_bad_argument_types():
    with pytest.raises(TypeError):
        ember.exp([1.0, 2.0])
    with pytest.raises(TypeError, match="shape"):
        ember.zeros("a")
    with pytest.raises(TypeError, match="shape"):
        ember.zeros(2.5)
    with pytest.raises(TypeError):
        ember.ones(2) + "a"
    with pytest.raises(TypeError):
        ember.ones(2) + None
    with pytest.raises(TypeError):
        ember.add(ember.ones(2), [1, 2])
    with pytest.raises(TypeError):
        ember.add(1, 2)
    with pytest.raises(ValueError, match="set_num_threads"):
        ember.set_num_threads(0)
    with pytest.raises(ValueError, match="item"):
        ember.ones(2).item()
    with pytest.raises(TypeError, match="reduce|sequence"):
        ember.sum(ember.ones(2), "0")


# ---------------------------------------------------------------------------------------------
# integer arithmetic traps (x86 raises SIGFPE for these in C++)


def test_integer_division_traps_do_not_crash():
    proc = run_isolated(
        """
        import ember
        res = {}
        for dt in (ember.int8, ember.int32, ember.int64, ember.uint8, ember.uint32):
            a = ember.tensor([7, 0, 5], dtype=dt)
            z = ember.zeros(3, dtype=dt)
            for name, f in (("floordiv", lambda: a // z), ("mod", lambda: a % z), ("floordiv0", lambda: a // 0),
                            ("mod0", lambda: a % 0), ("fdiv", lambda: ember.floor_divide(a, z))):
                try:
                    r = f()
                    res[(dt.name, name)] = r.tolist()
                except (ZeroDivisionError, RuntimeError, ValueError) as e:
                    res[(dt.name, name)] = type(e).__name__
        for dt, mn in ((ember.int8, -128), (ember.int32, -2**31), (ember.int64, -2**63)):
            a = ember.tensor([mn, mn], dtype=dt)
            res[(dt.name, "min//-1")] = (a // -1).tolist()
            res[(dt.name, "min%-1")] = (a % ember.tensor([-1, -1], dtype=dt)).tolist()
        print(res)
        """
    )
    assert_no_crash(proc)
    out = eval(proc.stdout)  # noqa: S307  (our own repr of a dict of lists / names)
    # INT_MIN // -1 wraps to INT_MIN (numpy and torch), INT_MIN % -1 is 0
    assert out[("int8", "min//-1")] == [-128, -128]
    assert out[("int32", "min//-1")] == [-(2**31)] * 2
    assert out[("int64", "min//-1")] == [-(2**63)] * 2
    assert out[("int64", "min%-1")] == [0, 0]
