""".npy / .npz: files numpy writes read back bit-exactly and without a copy where the format allows,
files ember writes read by numpy, and every malformed, unsupported or hostile file refused with
FileFormatError (pickles are never run, zip bombs are not inflated past their declared size)."""

import io
import os
import pickle
import struct
import tracemalloc
import zipfile
import zlib

import ml_dtypes
import numpy as np
import pytest

import ember
import ember.io
from ember.io import FileFormatError
from io_fuzz import fuzz_reader
from io_testing import inside_mapping

DTYPES = ["float32", "float64", "float16", "uint8", "int8", "uint32", "int32", "int64", "bool"]
SHAPES = [(), (0,), (1,), (7,), (3, 5), (2, 0, 3), (2, 3, 1, 5), (1, 1, 1), (3, 1, 4, 1, 5)]
MULTI_DIM_SHAPES = [(3, 5), (2, 3, 4), (4, 1, 3), (1, 6), (2, 3, 1, 5)]


def random_array(rng, dtype, shape):
    """Every bit pattern of the dtype is fair game: NaN payloads, infinities, subnormals, -0.0."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind == "f":
        bits = rng.integers(0, 256, size=(*shape, dtype.itemsize), dtype=np.uint8)
        return bits.view(dtype).reshape(shape)
    info = np.iinfo(dtype)
    return np.asarray(rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True))


def assert_bit_equal(t, a):
    got = np.asarray(t.numpy())
    expected = np.asarray(a)
    assert got.dtype == expected.dtype.newbyteorder("="), (got.dtype, expected.dtype)
    assert got.shape == expected.shape
    assert np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(expected.astype(got.dtype)).tobytes()


def npy_bytes(header, data=b"", version=(1, 0), length=None):
    """A hand-made .npy file: magic, version, header length, header text, data."""
    body = header.encode("utf-8" if version[0] == 3 else "latin1")
    length_format = "<H" if version[0] == 1 else "<I"
    n = len(body) if length is None else length
    return b"\x93NUMPY" + bytes(version) + struct.pack(length_format, n) + body + data


def header(descr="'<f4'", fortran="False", shape="(2,)"):
    return f"{{'descr': {descr}, 'fortran_order': {fortran}, 'shape': {shape}, }}\n"


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def expect_error(loader, path, *fragments):
    with pytest.raises(FileFormatError) as info:
        loader(path)
    message = str(info.value)
    assert os.fspath(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


# ---------------------------------------------------------------------------------------------
# .npy written by numpy


@pytest.mark.parametrize("dtype", DTYPES)
def test_reads_np_save_bit_exactly(tmp_path, rng, dtype):
    for i, shape in enumerate(SHAPES):
        a = random_array(rng, dtype, shape)
        path = tmp_path / f"{i}.npy"
        np.save(path, a)
        t = ember.io.load_npy(path)
        assert t.dtype.name == dtype and t.shape == shape and t.is_contiguous()
        assert_bit_equal(t, a)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fortran_order_is_a_strided_view_of_the_file(tmp_path, rng, dtype):
    for i, shape in enumerate(MULTI_DIM_SHAPES):
        a = np.asfortranarray(random_array(rng, dtype, shape))
        path = tmp_path / f"{i}.npy"
        np.save(path, a)
        fortran = not a.flags.c_contiguous  # numpy writes C order when the array is both
        assert (b"'fortran_order': True" in path.read_bytes()[:128]) == fortran
        t = ember.io.load_npy(path)
        strides = np.load(path).strides
        assert t.stride() == tuple(s // a.dtype.itemsize for s in strides)
        assert t.is_contiguous() != fortran
        assert inside_mapping(t, path)
        assert_bit_equal(t, a)


@pytest.mark.parametrize("dtype", [d for d in DTYPES if np.dtype(d).itemsize > 1])
@pytest.mark.parametrize("order", ["C", "F"])
def test_big_endian_arrays_are_byteswapped(tmp_path, rng, dtype, order):
    for i, shape in enumerate([(), (0,), (5,), (3, 4), (2, 3, 2)]):
        a = random_array(rng, dtype, shape)
        big = np.asarray(a.astype(np.dtype(dtype).newbyteorder(">")), order=order)
        path = tmp_path / f"{i}.npy"
        np.save(path, big)
        assert b"'descr': '>" in path.read_bytes()[:128]
        t = ember.io.load_npy(path)
        assert t.dtype.name == dtype
        assert_bit_equal(t, a)
        if a.size:
            assert not inside_mapping(t, path)  # a copy, in native order


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_reads_every_format_version(tmp_path, rng, version):
    a = random_array(rng, "float32", (4, 3))
    path = tmp_path / "v.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array(f, a, version=version)
    assert path.read_bytes()[6:8] == bytes(version)
    t = ember.io.load_npy(path)
    assert inside_mapping(t, path)
    assert_bit_equal(t, a)


@pytest.mark.parametrize("descr", ["'<f4'", "'=f4'", "'f4'", "'|f4'"])
def test_little_endian_and_native_spellings(tmp_path, descr):
    data = np.array([1.5, -2.0], np.float32).tobytes()
    t = ember.io.load_npy(write(tmp_path / "x.npy", npy_bytes(header(descr), data)))
    assert t.numpy().tolist() == [1.5, -2.0]


@pytest.mark.parametrize("descr", ["'|u1'", "'<u1'", "'>u1'", "'u1'"])
def test_one_byte_dtypes_ignore_the_byte_order(tmp_path, descr):
    t = ember.io.load_npy(write(tmp_path / "x.npy", npy_bytes(header(descr), b"\x01\xfe")))
    assert t.dtype == ember.uint8 and t.numpy().tolist() == [1, 254]


def test_long_header_within_the_limit(tmp_path):
    text = header(shape="(2,)")[:-1] + " " * 9000 + "\n"
    t = ember.io.load_npy(write(tmp_path / "x.npy", npy_bytes(text, np.array([3, 4], np.float32).tobytes())))
    assert t.numpy().tolist() == [3.0, 4.0]


# ---------------------------------------------------------------------------------------------
# zero copy and copy-on-write


def test_npy_is_zero_copy_and_copy_on_write(tmp_path, rng):
    a = random_array(rng, "float32", (64, 33))
    path = tmp_path / "w.npy"
    np.save(path, a)
    before = path.read_bytes()
    t = ember.io.load_npy(path)
    assert inside_mapping(t, path)
    t.fill_(7.0)
    t[0, 0] = -1.0
    assert t.numpy()[0, 0] == -1.0 and t.numpy()[1, 1] == 7.0
    assert path.read_bytes() == before
    assert_bit_equal(ember.io.load_npy(path), a)


def test_tensors_outlive_everything_else(tmp_path, rng):
    a = random_array(rng, "int64", (100,))
    np.save(tmp_path / "k.npy", a)
    np.savez(tmp_path / "k.npz", a=a)
    t, z = ember.io.load_npy(tmp_path / "k.npy"), ember.io.load_npz(tmp_path / "k.npz")["a"]
    os.remove(tmp_path / "k.npy")
    os.remove(tmp_path / "k.npz")
    import gc

    gc.collect()
    assert_bit_equal(t, a)
    assert_bit_equal(z, a)


def _member_data_offsets(path):
    """name -> file offset of each stored member's array data (after its .npy header)."""
    out = {}
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            name_len, extra_len = struct.unpack_from("<HH", raw, info.header_offset + 26)
            member = info.header_offset + 30 + name_len + extra_len
            (hlen,) = struct.unpack_from("<H", raw, member + 8)
            out[info.filename[:-4]] = member + 10 + hlen
    return out


def test_np_savez_members_are_zero_copy_where_aligned(tmp_path, rng):
    arrays = {f"{dtype}_{'n' * k}": random_array(rng, dtype, (5, 3)) for dtype in DTYPES for k in range(1, 9)}
    path = tmp_path / "s.npz"
    np.savez(path, **arrays)
    before = path.read_bytes()
    offsets = _member_data_offsets(path)
    loaded = ember.io.load_npz(path)
    assert list(loaded) == list(arrays)
    aligned = 0
    for name, a in arrays.items():
        t = loaded[name]
        assert_bit_equal(t, a)
        is_aligned = offsets[name] % a.dtype.itemsize == 0
        assert inside_mapping(t, path) == is_aligned, name  # misaligned data is copied
        aligned += is_aligned
    assert 0 < aligned < len(arrays)  # both paths were taken
    for t in loaded.values():
        t.zero_()
    assert path.read_bytes() == before


def test_ember_npz_members_are_aligned_and_zero_copy(tmp_path, rng):
    arrays = {f"{dtype}_{'n' * k}": random_array(rng, dtype, (5, 3)) for dtype in DTYPES for k in range(1, 9)}
    path = tmp_path / "e.npz"
    ember.io.save_npz(path, {k: ember.tensor(v) for k, v in arrays.items()})
    assert all(off % 64 == 0 for off in _member_data_offsets(path).values())
    loaded = ember.io.load_npz(path)
    for name, a in arrays.items():
        assert inside_mapping(loaded[name], path), name
        assert_bit_equal(loaded[name], a)


def test_compressed_members_are_writable_copies(tmp_path, rng):
    a = random_array(rng, "float64", (20, 3))
    path = tmp_path / "c.npz"
    np.savez_compressed(path, a=a)
    t = ember.io.load_npz(path)["a"]
    assert not inside_mapping(t, path)
    assert_bit_equal(t, a)
    t.fill_(1.0)
    assert (t.numpy() == 1.0).all()


# ---------------------------------------------------------------------------------------------
# .npz written by numpy


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=["stored", "deflated"])
def test_reads_np_savez_bit_exactly(tmp_path, rng, save):
    arrays = {f"{dtype}.{len(shape)}.{i}": random_array(rng, dtype, shape)
              for dtype in DTYPES for i, shape in enumerate(SHAPES)}
    arrays["fortran"] = np.asfortranarray(random_array(rng, "int32", (3, 4, 5)))
    arrays["big"] = random_array(rng, "float64", (6, 2)).astype(">f8")
    arrays["big_fortran"] = np.asfortranarray(random_array(rng, "uint32", (4, 3)).astype(">u4"))
    arrays["ünï/cöde"] = random_array(rng, "int8", (9,))
    path = tmp_path / "a.npz"
    save(path, **arrays)
    loaded = ember.io.load_npz(path)
    assert list(loaded) == list(arrays)
    for name, a in arrays.items():
        assert_bit_equal(loaded[name], a)
    assert loaded["fortran"].stride() == (1, 3, 12)


def test_positional_names_and_empty_archive(tmp_path, rng):
    a, b = random_array(rng, "int32", (3,)), random_array(rng, "bool", (2, 2))
    np.savez(tmp_path / "p.npz", a, b)
    loaded = ember.io.load_npz(tmp_path / "p.npz")
    assert list(loaded) == ["arr_0", "arr_1"]
    assert_bit_equal(loaded["arr_1"], b)
    np.savez(tmp_path / "empty.npz")
    assert ember.io.load_npz(tmp_path / "empty.npz") == {}


def test_data_descriptor_members(tmp_path, rng):
    """zipfile writes CRC and sizes after the data when the output cannot seek."""

    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.data = bytearray()

        def writable(self):
            return True

        def write(self, b):
            self.data += b
            return len(b)

    a = random_array(rng, "float32", (7, 3))
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        sink = Unseekable()
        with zipfile.ZipFile(sink, "w", compression=method) as z:
            with z.open("a.npy", "w") as f:
                np.lib.format.write_array(f, a)
        path = write(tmp_path / f"d{method}.npz", bytes(sink.data))
        assert zipfile.ZipFile(path).infolist()[0].flag_bits & 0x8
        assert_bit_equal(ember.io.load_npz(path)["a"], a)


# ---------------------------------------------------------------------------------------------
# files ember writes


@pytest.mark.parametrize("dtype", DTYPES)
def test_np_load_reads_save_npy(tmp_path, rng, dtype):
    for i, shape in enumerate(SHAPES):
        a = random_array(rng, dtype, shape)
        path = tmp_path / f"{i}.npy"
        ember.io.save_npy(path, ember.tensor(a.copy()))
        raw = path.read_bytes()
        assert raw[6:8] == b"\x01\x00"
        assert (10 + struct.unpack_from("<H", raw, 8)[0]) % 64 == 0
        back = np.load(path)
        assert back.dtype == a.dtype and back.shape == a.shape and back.tobytes() == a.tobytes()
        assert_bit_equal(ember.io.load_npy(path), a)


def test_save_npy_writes_views_in_c_order(tmp_path, rng):
    a = random_array(rng, "float32", (4, 6, 5))
    t = ember.tensor(a)
    views = {"T": (t.permute(2, 0, 1), a.transpose(2, 0, 1)), "step": (t[::2, 1:, ::3], a[::2, 1:, ::3]),
             "expand": (ember.tensor(a[:1]).expand(3, 6, 5), np.broadcast_to(a[:1], (3, 6, 5)))}
    for name, (view, expected) in views.items():
        ember.io.save_npy(tmp_path / f"{name}.npy", view)
        back = np.load(tmp_path / f"{name}.npy")
        assert back.flags.c_contiguous and np.array_equal(back, expected), name


@pytest.mark.parametrize("compressed", [False, True])
def test_np_load_reads_save_npz(tmp_path, rng, compressed):
    arrays = {f"{dtype}.{len(shape)}.{i}": random_array(rng, dtype, shape)
              for dtype in DTYPES for i, shape in enumerate(SHAPES)}
    arrays["ünï/cöde"] = random_array(rng, "int8", (9,))
    path = tmp_path / "o.npz"
    ember.io.save_npz(path, {k: ember.tensor(v.copy()) for k, v in arrays.items()}, compressed=compressed)
    with np.load(path) as z:
        assert list(z.keys()) == list(arrays)
        for name, a in arrays.items():
            assert z[name].dtype == a.dtype and z[name].shape == a.shape and z[name].tobytes() == a.tobytes()
    with zipfile.ZipFile(path) as z:
        methods = {i.compress_type for i in z.infolist()}
        assert methods == {zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED}
        assert z.testzip() is None
    loaded = ember.io.load_npz(path)
    for name, a in arrays.items():
        assert_bit_equal(loaded[name], a)


def test_save_npz_is_deterministic(tmp_path, rng):
    tensors = {"a": ember.tensor(random_array(rng, "float32", (3, 3))), "b": ember.tensor(np.arange(5))}
    ember.io.save_npz(tmp_path / "1.npz", tensors)
    ember.io.save_npz(tmp_path / "2.npz", tensors)
    assert (tmp_path / "1.npz").read_bytes() == (tmp_path / "2.npz").read_bytes()


def test_save_refuses_what_numpy_cannot_hold(tmp_path):
    bf16 = ember.ones(3).to(ember.bfloat16)
    with pytest.raises(TypeError, match=r"bfloat16.*\.float\(\).*safetensors"):
        ember.io.save_npy(tmp_path / "b.npy", bf16)
    with pytest.raises(TypeError, match=r"'w'.*bfloat16.*\.float\(\).*safetensors"):
        ember.io.save_npz(tmp_path / "b.npz", {"ok": ember.ones(2), "w": bf16})
    assert not os.path.exists(tmp_path / "b.npy") and not os.path.exists(tmp_path / "b.npz")
    with pytest.raises(TypeError):
        ember.io.save_npy(tmp_path / "n.npy", np.ones(3))
    with pytest.raises(TypeError):
        ember.io.save_npz(tmp_path / "n.npz", [ember.ones(2)])
    with pytest.raises(TypeError):
        ember.io.save_npz(tmp_path / "n.npz", {1: ember.ones(2)})


def test_load_dispatches_on_content(tmp_path, rng):
    a = random_array(rng, "int32", (2, 5))
    np.save(tmp_path / "weights.npy", a)
    np.savez(tmp_path / "many.npz", x=a)
    assert_bit_equal(ember.io.load(tmp_path / "weights.npy")["weights"], a)
    assert_bit_equal(ember.io.load(tmp_path / "many.npz")["x"], a)


@pytest.mark.skipif(not ember.cuda.is_available(), reason="no CUDA device")
def test_device_argument(tmp_path, rng):
    a = random_array(rng, "float32", (4, 4))
    np.save(tmp_path / "g.npy", a)
    np.savez_compressed(tmp_path / "g.npz", a=a)
    for t in (ember.io.load_npy(tmp_path / "g.npy", device="cuda"),
              ember.io.load_npz(tmp_path / "g.npz", device="cuda")["a"]):
        assert t.device.type == "cuda"
        assert_bit_equal(t.cpu(), a)


def test_device_cpu_is_the_default(tmp_path, rng):
    np.save(tmp_path / "c.npy", random_array(rng, "float32", (2,)))
    assert ember.io.load_npy(tmp_path / "c.npy", device="cpu").device.type == "cpu"


# ---------------------------------------------------------------------------------------------
# unsupported dtypes and pickles


class _Marker:
    """Unpickling this creates the marker file: proof that a pickle ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (self.path, "w")


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    marker = tmp_path / "unpickled"
    objects = np.array([_Marker(os.fspath(marker)), 1], dtype=object)
    np.save(tmp_path / "o.npy", objects, allow_pickle=True)
    expect_error(ember.io.load_npy, tmp_path / "o.npy", "'|O'", "never unpickles")
    np.savez(tmp_path / "o.npz", fine=np.ones(2), bad=objects)
    expect_error(ember.io.load_npz, tmp_path / "o.npz", "'bad.npy'", "'|O'")
    write(tmp_path / "p.npy", pickle.dumps(_Marker(os.fspath(marker))))
    expect_error(ember.io.load_npy, tmp_path / "p.npy", "not a .npy file")
    assert not marker.exists()


def test_header_is_never_evaluated(tmp_path):
    marker = tmp_path / "ran"
    code = f"__import__('os').system('touch {marker}')"
    for i, text in enumerate([header(descr=code), header(shape=f"({code},)"), code]):
        expect_error(ember.io.load_npy, write(tmp_path / f"{i}.npy", npy_bytes(text, bytes(8))), "literal")
    assert not marker.exists()


@pytest.mark.parametrize("dtype", ["<i2", ">u2", "<u8", "<c8", "<c16", "<U3", "|S4", "<M8[s]", "<m8[ms]", "|V2",
                                   "<f16" if np.dtype(np.longdouble).itemsize == 16 else "<f10"])
def test_unsupported_dtypes_name_the_descr(tmp_path, dtype):
    if dtype in ("<f16", "<f10"):
        dtype = np.dtype(np.longdouble).str
    np.save(tmp_path / "u.npy", np.zeros(3, dtype=dtype))
    descr = np.lib.format.dtype_to_descr(np.dtype(dtype))
    expect_error(ember.io.load_npy, tmp_path / "u.npy", repr(descr), "not supported")


def test_bfloat16_and_structured_arrays_are_refused(tmp_path):
    np.save(tmp_path / "bf.npy", np.ones(3, ml_dtypes.bfloat16))
    expect_error(ember.io.load_npy, tmp_path / "bf.npy", "'<V2'", "safetensors")
    np.save(tmp_path / "st.npy", np.zeros(2, dtype=[("x", "<f4"), ("y", "<i8")]))
    expect_error(ember.io.load_npy, tmp_path / "st.npy", "structured", "'x'")


# ---------------------------------------------------------------------------------------------
# malformed .npy


MALFORMED_NPY = {
    "empty file": (b"", "not a .npy file"),
    "wrong magic": (b"\x93NUMPZ\x01\x00" + bytes(100), "not a .npy file"),
    "version 4.0": (npy_bytes(header(), bytes(8), version=(4, 0)), "version 4.0"),
    "version 1.1": (npy_bytes(header(), bytes(8), version=(1, 1)), "version 1.1"),
    "cut in length": (b"\x93NUMPY\x02\x00\x10\x00", "header length"),
    "header too long": (npy_bytes(header(), bytes(8), version=(2, 0), length=10_001), "limit"),
    "header past end": (npy_bytes(header(), b"", length=2000), "past the end"),
    "header not a dict": (npy_bytes("[1, 2]", bytes(8)), "dict literal"),
    "header not a literal": (npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,),", bytes(8)),
                             "not a Python literal"),
    "null byte in header": (npy_bytes(header()[:-2] + "\0", bytes(8)), "not a Python literal"),
    "extra key": (npy_bytes(header()[:-2] + "'x': 1}", bytes(8)), "exactly descr"),
    "missing key": (npy_bytes("{'descr': '<f4', 'shape': (2,)}", bytes(8)), "exactly descr"),
    "duplicate key": (npy_bytes("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
                                bytes(8)), "distinct"),
    "non-string key": (npy_bytes("{1: 2, 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", bytes(8)),
                       "distinct"),
    "fortran_order int": (npy_bytes(header(fortran="1"), bytes(8)), "fortran_order"),
    "shape list": (npy_bytes(header(shape="[2]"), bytes(8)), "tuple"),
    "shape int": (npy_bytes(header(shape="2"), bytes(8)), "tuple"),
    "negative dim": (npy_bytes(header(shape="(-2,)"), bytes(8)), "non-negative"),
    "bool dim": (npy_bytes(header(shape="(True, 2)"), bytes(8)), "non-negative"),
    "float dim": (npy_bytes(header(shape="(2.0,)"), bytes(8)), "non-negative"),
    "huge shape": (npy_bytes(header(shape="(2**40, 2**40)".replace("2**40", str(2**40))), bytes(8)), "2**50"),
    "huge int": (npy_bytes(header(shape="(" + "9" * 5000 + ",)"), bytes(8)), "not a Python literal"),
    "descr int": (npy_bytes(header(descr="4"), bytes(8)), "descr 4"),
    "descr unknown": (npy_bytes(header(descr="'<x4'"), bytes(8)), "'<x4'"),
    "data truncated": (npy_bytes(header(), bytes(7)), "8 bytes of data"),
    "trailing bytes": (npy_bytes(header(), bytes(9)), "9 bytes follow"),
    "v3 not utf-8": (npy_bytes(header(), bytes(8), version=(3, 0))[:12] + b"\xff" +
                     npy_bytes(header(), bytes(8), version=(3, 0))[13:], "utf-8"),
}


@pytest.mark.parametrize("case", list(MALFORMED_NPY))
def test_malformed_npy(tmp_path, case):
    data, fragment = MALFORMED_NPY[case]
    expect_error(ember.io.load_npy, write(tmp_path / "bad.npy", data), "npy", fragment)


def test_every_truncation_of_a_npy_is_refused(tmp_path, rng):
    np.save(tmp_path / "ok.npy", random_array(rng, "int32", (3, 2)))
    raw = (tmp_path / "ok.npy").read_bytes()
    for n in range(len(raw)):
        with pytest.raises(FileFormatError):
            ember.io.load_npy(write(tmp_path / "cut.npy", raw[:n]))


def test_wrong_kind_of_file(tmp_path, rng):
    np.savez(tmp_path / "z.npz", a=np.ones(2))
    np.save(tmp_path / "y.npy", np.ones(2))
    expect_error(ember.io.load_npy, tmp_path / "z.npz", "not a .npy file")
    expect_error(ember.io.load_npz, tmp_path / "y.npy", "not a readable zip")


# ---------------------------------------------------------------------------------------------
# malformed and hostile .npz


def deflate(data):
    c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


def member(name, payload, method=zipfile.ZIP_STORED, **fields):
    """A zip member for zip_bytes; `fields` override what the headers declare (`local` holds
    overrides for the local header only, `offset` points the central entry elsewhere)."""
    data = payload if method == zipfile.ZIP_STORED else deflate(payload)
    m = {"name": name, "data": data, "method": method, "flags": 0, "crc": zlib.crc32(payload),
         "csize": len(data), "usize": len(payload), "local": {}}
    m.update(fields)
    return m


def zip_bytes(members):
    """A zip archive (no zip64) that declares whatever the members say."""
    out, central = bytearray(), bytearray()
    for m in members:
        name = m["name"].encode("utf-8")
        offset = len(out)
        local = dict(m, **m["local"])
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, local["flags"], local["method"], 0, 0x21, local["crc"],
                           local["csize"], local["usize"], len(local.get("raw_name", name)), 0)
        out += local.get("raw_name", name) + m["data"]
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, m["flags"], m["method"], 0, 0x21, m["crc"],
                               m["csize"], m["usize"], len(name), 0, 0, 0, 0, 0, m.get("offset", offset)) + name
    n = len(members)
    return bytes(out + central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), len(out), 0))


def npy_of(a):
    f = io.BytesIO()
    np.save(f, a)
    return f.getvalue()


def test_hand_made_zips_are_valid(tmp_path):
    a = np.arange(6, dtype=np.float32)
    path = write(tmp_path / "ok.npz", zip_bytes([member("a.npy", npy_of(a)),
                                                 member("b.npy", npy_of(a * 2), zipfile.ZIP_DEFLATED)]))
    with np.load(path) as z:
        assert np.array_equal(z["b"], a * 2)
    loaded = ember.io.load_npz(path)
    assert_bit_equal(loaded["a"], a)
    assert_bit_equal(loaded["b"], a * 2)


def _bomb(total):
    """A deflated .npy member whose array holds `total` zero bytes."""
    text = f"{{'descr': '|u1', 'fortran_order': False, 'shape': ({total},), }}".encode()
    text += b" " * (-(10 + len(text) + 1) % 64) + b"\n"
    npy_head = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text
    c = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    chunks, crc = [c.compress(npy_head)], zlib.crc32(npy_head)
    for _ in range(total >> 20):
        chunks.append(c.compress(zeros))
        crc = zlib.crc32(zeros, crc)
    chunks.append(c.flush())
    return b"".join(chunks), crc, len(npy_head) + total


def test_zip_bomb_declaring_a_small_size_is_not_inflated(tmp_path):
    data, crc, size = _bomb(128 << 20)
    path = write(tmp_path / "bomb.npz", zip_bytes([member("a.npy", b"", zipfile.ZIP_DEFLATED, data=data, crc=crc,
                                                          csize=len(data), usize=1 << 20)]))
    tracemalloc.start()
    try:
        expect_error(ember.io.load_npz, path, "'a.npy'", "more than its declared 1048576 bytes")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 48 << 20, f"peak {peak >> 20} MiB while refusing a bomb declared as 1 MiB"


def test_deflated_sizes_and_crc_are_checked(tmp_path):
    payload = npy_of(np.arange(100, dtype=np.int64))
    cases = {
        "declares more than it inflates to": (dict(usize=len(payload) + 8), "inflates to 928 bytes, but declares 936"),
        "declares far more than deflate can produce": (dict(usize=0xFFFFFFFE), "more than deflate can produce"),
        "crc": (dict(crc=zlib.crc32(payload) ^ 1), "CRC"),
        "truncated stream": (dict(data=deflate(payload)[:-9], csize=len(deflate(payload)) - 9), "truncated"),
        "bytes after the stream": (dict(data=deflate(payload) + b"junk", csize=len(deflate(payload)) + 4),
                                   "followed by other bytes"),
        "corrupt stream": (dict(data=b"\xff" * 40, csize=40), "corrupt deflate data"),
    }
    for i, (case, (fields, fragment)) in enumerate(cases.items()):
        path = write(tmp_path / f"{i}.npz", zip_bytes([member("a.npy", payload, zipfile.ZIP_DEFLATED, **fields)]))
        expect_error(ember.io.load_npz, path, fragment)


def test_local_headers_must_agree_with_the_central_directory(tmp_path):
    payload = npy_of(np.arange(10, dtype=np.float32))
    cases = {
        "local size": (dict(local={"usize": len(payload) - 1}), "disagree"),
        "local crc": (dict(local={"crc": 0}), "disagree"),
        "local method": (dict(local={"method": zipfile.ZIP_DEFLATED}), "disagree"),
        "local name": (dict(local={"raw_name": b"b.npy"}), "names it b'b.npy'"),
        "offset": (dict(offset=7), "local header"),
        "offset past the end": (dict(offset=1 << 20), "outside"),
        "stored sizes differ": (dict(usize=len(payload) - 4, local={"usize": len(payload) - 4}), "sizes differ"),
        "encrypted": (dict(flags=1, local={"flags": 1}), "encrypted"),
    }
    for i, (case, (fields, fragment)) in enumerate(cases.items()):
        path = write(tmp_path / f"{i}.npz", zip_bytes([member("a.npy", payload, **fields)]))
        expect_error(ember.io.load_npz, path, "'a.npy'", fragment)
    path = write(tmp_path / "bz.npz", zip_bytes([member("a.npy", payload, method=zipfile.ZIP_BZIP2)]))
    expect_error(ember.io.load_npz, path, "compression method 12")


def test_overlapping_and_duplicate_members(tmp_path):
    inner = npy_of(np.arange(4, dtype=np.uint8))
    inner_local = zip_bytes([member("b.npy", inner)])[:30 + 5 + len(inner)]
    outer = member("a.npy", inner_local)
    nested = member("b.npy", inner, offset=30 + 5)  # b's local header lies inside a's data
    expect_error(ember.io.load_npz, write(tmp_path / "o.npz", zip_bytes([outer, nested])), "overlap")
    twice = [member("a.npy", inner), member("a.npy", inner, offset=0)]
    expect_error(ember.io.load_npz, write(tmp_path / "t.npz", zip_bytes(twice)), "overlap")
    same_key = [member("a.npy", inner), member("a", inner)]
    expect_error(ember.io.load_npz, write(tmp_path / "k.npz", zip_bytes(same_key)), "two members are named 'a'")
    not_npy = [member("a.npy", inner), member("notes.txt", b"hello")]
    expect_error(ember.io.load_npz, write(tmp_path / "n.npz", zip_bytes(not_npy)), "'notes.txt'", "not a .npy file")


def test_member_contents_are_checked_like_npy(tmp_path):
    bad = npy_of(np.arange(4, dtype=np.float32))[:-1]
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        path = write(tmp_path / f"{method}.npz", zip_bytes([member("w.npy", bad, method)]))
        expect_error(ember.io.load_npz, path, "npz member 'w.npy'", "16 bytes of data")


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=["stored", "deflated"])
def test_every_truncation_of_a_npz_is_refused(tmp_path, rng, save):
    save(tmp_path / "ok.npz", a=random_array(rng, "int32", (3, 2)), b=np.ones(3, np.float16))
    raw = (tmp_path / "ok.npz").read_bytes()
    for n in range(len(raw)):
        with pytest.raises(FileFormatError):
            ember.io.load_npz(write(tmp_path / "cut.npz", raw[:n]))


# ---------------------------------------------------------------------------------------------
# fuzzing


def _fuzz_npy_files(tmp_path, rng):
    files = []
    arrays = [random_array(rng, "float32", (3, 4)), np.asfortranarray(random_array(rng, "float64", (2, 3))),
              random_array(rng, "int32", (5,)).astype(">i4"), np.array(True), np.zeros((0, 3), np.uint8)]
    for i, a in enumerate(arrays):
        files.append(tmp_path / f"valid{i}.npy")
        np.save(files[-1], a)
    for version in ((2, 0), (3, 0)):
        files.append(tmp_path / f"valid_v{version[0]}.npy")
        with open(files[-1], "wb") as f:
            np.lib.format.write_array(f, random_array(rng, "int64", (2, 2)), version=version)
    return files


def test_fuzz_load_npy(tmp_path, rng):
    files = _fuzz_npy_files(tmp_path, rng)
    summary = fuzz_reader("ember.io.load_npy(path)", files, 2000, tmp_path, suffix=".npy")
    assert summary["loaded"] > 50 and summary["rejected"] > 500, summary


def test_fuzz_load_npz(tmp_path, rng):
    arrays = {"w": random_array(rng, "float32", (3, 4)), "f": np.asfortranarray(random_array(rng, "int8", (2, 3))),
              "b": random_array(rng, "float16", (4,)).astype(">f2"), "s": np.array(3, np.int64)}
    np.savez(tmp_path / "stored.npz", **arrays)
    np.savez_compressed(tmp_path / "deflated.npz", **arrays)
    native = {k: np.ascontiguousarray(v).astype(v.dtype.newbyteorder("=")) for k, v in arrays.items()}
    ember.io.save_npz(tmp_path / "ember.npz", {k: ember.tensor(v) for k, v in native.items()})
    files = [tmp_path / "stored.npz", tmp_path / "deflated.npz", tmp_path / "ember.npz"]
    summary = fuzz_reader("ember.io.load_npz(path)", files, 2000, tmp_path, suffix=".npz")
    assert summary["loaded"] > 20 and summary["rejected"] > 500, summary
