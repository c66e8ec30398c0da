"""GGUF and legacy GGML/GGJT: files gguf-py writes read back exactly and without a copy, files ember
writes read by gguf-py, versions 1 to 3 in either byte order, the real SmolLM2 file, and every kind
of malformed header refused with FileFormatError."""

import struct

import ember
import ember.io
import ember.quant
import gguf
import ml_dtypes
import numpy as np
import pytest
from ember.io import FileFormatError, GGUFValue
from ember.io.gguf import GGML_TYPES
from io_fuzz import fuzz_reader
from io_testing import inside_mapping, smollm2_gguf_path

VT = gguf.GGUFValueType
QT = gguf.GGMLQuantizationType
QUANT_NAMES = [q for q in ember.QTYPES if q not in ("f32", "f16", "bf16")]


def write_with_gguf_py(path, tensors=(), kvs=(), endianess=gguf.GGUFEndian.LITTLE, alignment=None):
    """tensors: (name, array, raw_dtype or None); kvs: (key, value, type, sub_type)."""
    w = gguf.GGUFWriter(path, "test", endianess=endianess)
    if alignment:
        w.add_custom_alignment(alignment)
    for key, value, vtype, sub in kvs:
        w.add_key_value(key, value, vtype, sub_type=sub)
    for name, a, raw in tensors:
        w.add_tensor(name, a, raw_dtype=raw)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


# --- a GGUF writer with every field under the test's control ----------------------------------

class Raw:
    """Builds GGUF bytes field by field: any version, byte order, count, offset or type id."""

    def __init__(self, version=3, order="<"):
        self.version, self.order = version, order
        self.count_code = "I" if version == 1 else "Q"

    def p(self, code, *v):
        return struct.pack(self.order + code, *v)

    def s(self, text):
        data = text.encode("utf-8") if isinstance(text, str) else text
        return self.p(self.count_code, len(data)) + data

    def value(self, vtype, v):
        if vtype == VT.STRING:
            return self.s(v)
        if vtype == VT.ARRAY:
            etype, items = v
            return self.p("I", etype) + self.p(self.count_code, len(items)) + b"".join(self.value(etype, x) for x in items)
        return self.p({0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}[vtype], v)

    def kv(self, key, vtype, v):
        return self.s(key) + self.p("I", vtype) + self.value(vtype, v)

    def info(self, name, ne, ggml_type, offset):
        return self.s(name) + self.p("I", len(ne)) + b"".join(self.p(self.count_code, d) for d in ne) + \
            self.p("I", ggml_type) + self.p("Q", offset)

    def file(self, kvs=(), infos=(), data=b"", alignment=32, n_tensors=None, n_kv=None, magic=b"GGUF"):
        head = magic + self.p("I", self.version)
        head += self.p(self.count_code, len(infos) if n_tensors is None else n_tensors)
        head += self.p(self.count_code, len(kvs) if n_kv is None else n_kv)
        head += b"".join(kvs) + b"".join(infos)
        return head + bytes(-len(head) % alignment) + data


def f32_file(raw, ne=(4, 2), offset=0, extra_kvs=(), data=None, ggml_type=0, name="w", alignment=32):
    n = int(np.prod(ne))
    data = np.arange(n, dtype=raw.order + "f4").tobytes() if data is None else data
    return raw.file(list(extra_kvs), [raw.info(name, ne, ggml_type, offset)], data, alignment=alignment)


def write(tmp_path, data, name="f.gguf"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- metadata -----------------------------------------------------------------------------------

METADATA_CASES = [
    ("u8", 255, VT.UINT8, None), ("i8", -128, VT.INT8, None), ("u16", 65535, VT.UINT16, None),
    ("i16", -32768, VT.INT16, None), ("u32", 2**32 - 1, VT.UINT32, None), ("i32", -2**31, VT.INT32, None),
    ("f32", 0.15625, VT.FLOAT32, None), ("b", True, VT.BOOL, None), ("s", "ünïcødé ✓ 中文", VT.STRING, None),
    ("u64", 2**64 - 1, VT.UINT64, None), ("i64", -2**63, VT.INT64, None), ("f64", 1 / 3, VT.FLOAT64, None),
    ("empty", "", VT.STRING, None),
    ("a.u8", [0, 7, 255], VT.ARRAY, VT.UINT8), ("a.i16", [-5, 5], VT.ARRAY, VT.INT16),
    ("a.f32", [0.5, -2.0], VT.ARRAY, VT.FLOAT32), ("a.bool", [True, False], VT.ARRAY, VT.BOOL),
    ("a.u64", [2**64 - 1, 0], VT.ARRAY, VT.UINT64), ("a.f64", [1e300], VT.ARRAY, VT.FLOAT64),
    ("a.str", ["a", "ß", ""], VT.ARRAY, VT.STRING),  # gguf-py refuses to write an empty array
]


def test_reads_metadata_of_every_value_type_written_by_gguf_py(tmp_path):
    path = write_with_gguf_py(tmp_path / "m.gguf", kvs=METADATA_CASES)
    tensors, metadata = ember.io.load_gguf(path)
    assert tensors == {}
    assert metadata["general.architecture"] == "test"
    for key, value, _, _ in METADATA_CASES:
        assert metadata[key] == value and type(metadata[key]) is type(value), key


def test_reads_nested_arrays_and_non_utf8_strings(tmp_path):
    raw = Raw()
    kvs = [raw.kv("nested", VT.ARRAY, (VT.ARRAY, [(VT.INT32, [1, 2]), (VT.ARRAY, []), (VT.STRING, ["x", "yz"])])),
           raw.kv("bytes", VT.STRING, b"\xff\xfe ok"),
           raw.kv("tokens", VT.ARRAY, (VT.STRING, ["<0x80>", b"\x80"]))]
    _, metadata = ember.io.load_gguf(write(tmp_path, raw.file(kvs)))
    assert metadata == {"nested": [[1, 2], [], ["x", "yz"]], "bytes": b"\xff\xfe ok", "tokens": ["<0x80>", b"\x80"]}


# --- plain tensors --------------------------------------------------------------------------------

PLAIN = [(np.float32, None, ember.float32), (np.float16, None, ember.float16), (np.float64, None, ember.float64),
         (np.int8, None, ember.int8), (np.int32, None, ember.int32), (np.int64, None, ember.int64),
         (ml_dtypes.bfloat16, QT.BF16, ember.bfloat16)]
SHAPES = [(7,), (3, 5), (2, 3, 4), (2, 1, 3, 2), (0, 4)]


def _array(rng, np_dtype, shape):
    if np.issubdtype(np_dtype, np.integer):
        info = np.iinfo(np_dtype)
        return rng.integers(info.min, info.max, shape, dtype=np_dtype, endpoint=True)
    return rng.standard_normal(shape).astype(np_dtype)


def _gguf_py_array(a, raw):
    return a.view(np.uint16) if raw == QT.BF16 else a  # gguf-py takes bf16 as raw uint16 with raw_dtype


def test_reads_plain_tensors_written_by_gguf_py_without_copying(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {f"t{i}.{j}": (_array(rng, d, s), raw, ed) for i, (d, raw, ed) in enumerate(PLAIN)
              for j, s in enumerate(SHAPES)}
    path = write_with_gguf_py(tmp_path / "p.gguf", [(n, _gguf_py_array(a, raw), raw) for n, (a, raw, _) in arrays.items()])
    tensors, _ = ember.io.load_gguf(path)
    assert list(tensors) == list(arrays)
    for name, (a, _, ember_dtype) in arrays.items():
        t = tensors[name]
        assert isinstance(t, ember.Tensor) and t.dtype == ember_dtype and tuple(t.shape) == a.shape, name
        assert t.numpy().tobytes() == a.tobytes(), name
        if a.size:
            assert inside_mapping(t, path), name


def test_i16_tensors_are_refused_by_name(tmp_path):
    path = write_with_gguf_py(tmp_path / "i16.gguf", [("ids", np.arange(4, dtype=np.int16), None)])
    with pytest.raises(FileFormatError, match="'ids' has ggml type i16, and ember has no int16 dtype"):
        ember.io.load_gguf(path)


def test_custom_alignment_is_honoured(tmp_path):
    a, b = np.arange(3, dtype=np.float32), np.arange(5, dtype=np.float64)
    path = write_with_gguf_py(tmp_path / "a.gguf", [("a", a, None), ("b", b, None)], alignment=256)
    tensors, metadata = ember.io.load_gguf(path)
    assert metadata["general.alignment"] == 256
    assert tensors["a"].tolist() == a.tolist() and tensors["b"].tolist() == b.tolist()
    reader = gguf.GGUFReader(path)
    assert reader.data_offset % 256 == 0
    assert [t.data_offset for t in reader.tensors] == [reader.data_offset, reader.data_offset + 256]


# --- versions and byte order -----------------------------------------------------------------------

@pytest.mark.parametrize("version", [1, 2, 3])
@pytest.mark.parametrize("order", ["<", ">"])
def test_reads_every_version_in_either_byte_order(tmp_path, version, order):
    raw = Raw(version, order)
    w = np.arange(8, dtype=order + "f4").reshape(2, 4)
    ids = np.arange(3, dtype=order + "i8")
    kvs = [raw.kv("name", VT.STRING, "ünï"), raw.kv("n", VT.UINT32, 7), raw.kv("x", VT.FLOAT64, -0.25),
           raw.kv("arr", VT.ARRAY, (VT.INT16, [-1, 2, 300])),
           raw.kv("strs", VT.ARRAY, (VT.STRING, ["a", "bc"])), raw.kv("general.alignment", VT.UINT32, 64)]
    infos = [raw.info("w", (4, 2), 0, 0), raw.info("ids", (3,), 27, 64), raw.info("b", (2,), 24, 128)]
    data = w.tobytes() + bytes(32) + ids.tobytes() + bytes(40) + b"\x01\xff"
    path = write(tmp_path, raw.file(kvs, infos, data, alignment=64))
    tensors, metadata = ember.io.load_gguf(path)
    assert metadata == {"name": "ünï", "n": 7, "x": -0.25, "arr": [-1, 2, 300], "strs": ["a", "bc"],
                        "general.alignment": 64}
    assert tensors["w"].tolist() == w.tolist() and tensors["ids"].tolist() == [0, 1, 2]
    assert tensors["b"].tolist() == [1, -1]
    if order == "<":
        assert inside_mapping(tensors["w"], path)


def test_reads_big_endian_files_written_by_gguf_py(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {"f": rng.standard_normal((3, 4)).astype(np.float32), "h": rng.standard_normal(6).astype(np.float16),
              "d": rng.standard_normal(2), "q": np.array([-2**40, 5], dtype=np.int64), "c": np.array([-3, 4], dtype=np.int8)}
    path = write_with_gguf_py(tmp_path / "be.gguf", [(n, a, None) for n, a in arrays.items()],
                              kvs=[("k", 123456, VT.UINT32, None), ("l", [1.5, 2.5], VT.ARRAY, VT.FLOAT32)],
                              endianess=gguf.GGUFEndian.BIG)
    assert path.read_bytes()[4:8] == b"\x00\x00\x00\x03"
    tensors, metadata = ember.io.load_gguf(path)
    assert metadata["k"] == 123456 and metadata["l"] == [1.5, 2.5]
    for name, a in arrays.items():
        assert np.array_equal(tensors[name].numpy(), a), name


def test_big_endian_quantized_tensors_are_refused(tmp_path):
    raw = Raw(3, ">")
    path = write(tmp_path, raw.file([], [raw.info("q", (32,), 2, 0)], bytes(18)))
    with pytest.raises(FileFormatError, match="'q' is quantized \\(q4_0\\) in a big-endian file"):
        ember.io.load_gguf(path)


# --- writing ----------------------------------------------------------------------------------------

def test_save_gguf_is_read_by_gguf_py(tmp_path):
    rng = np.random.default_rng(2)
    arrays = {f"t{i}": _array(rng, d, (3, 4) if i % 2 else (5,)) for i, (d, _, _) in enumerate(PLAIN)}
    tensors = {n: ember.tensor(a) if a.dtype != ml_dtypes.bfloat16 else ember.tensor(a.astype(np.float32)).to(ember.bfloat16)
               for n, a in arrays.items()}
    tensors["strided"] = ember.tensor(np.arange(12, dtype=np.float32).reshape(3, 4)).t()
    metadata = {"general.architecture": "test", "i": -5, "big": 2**40, "huge": 2**64 - 1, "f": 0.5, "b": False,
                "s": "ünï ✓", "raw": b"\xff", "ints": [1, 2], "floats": [1, 2.5], "strs": ["x", "y"],
                "nested": [[1, 2], [3]], "bools": [True], "empty": [],
                "u8": GGUFValue(200, "uint8"), "i16s": GGUFValue([-3, 3], "int16"), "d": GGUFValue(0.1, "float64"),
                "u64s": GGUFValue([[1], [2, 3]], "uint64"), "general.alignment": 64}
    path = tmp_path / "o.gguf"
    ember.io.save_gguf(path, tensors, metadata)
    reader = gguf.GGUFReader(path)
    f = reader.fields
    expected_types = {"i": [VT.INT32], "big": [VT.INT64], "huge": [VT.UINT64], "f": [VT.FLOAT32], "b": [VT.BOOL],
                      "s": [VT.STRING], "ints": [VT.ARRAY, VT.INT32], "floats": [VT.ARRAY, VT.FLOAT32],
                      "nested": [VT.ARRAY, VT.ARRAY, VT.INT32], "u8": [VT.UINT8], "i16s": [VT.ARRAY, VT.INT16],
                      "d": [VT.FLOAT64], "u64s": [VT.ARRAY, VT.ARRAY, VT.UINT64], "general.alignment": [VT.UINT32]}
    for key, types in expected_types.items():
        assert f[key].types == types, key
    assert f["s"].contents() == "ünï ✓" and f["huge"].contents() == 2**64 - 1 and f["d"].contents() == 0.1
    assert f["i16s"].contents() == [-3, 3] and f["strs"].contents() == ["x", "y"]
    assert reader.alignment == 64 and reader.data_offset % 64 == 0
    by_name = {t.name: t for t in reader.tensors}
    for name, a in arrays.items():
        got = by_name[name]
        assert list(got.shape) == list(a.shape[::-1])
        assert got.data.tobytes() == a.tobytes(), name
    assert by_name["strided"].data.tobytes() == np.arange(12, dtype=np.float32).reshape(3, 4).T.tobytes()
    # and back into ember, every value as it went in
    tensors2, metadata2 = ember.io.load_gguf(path)
    assert metadata2["u64s"] == [[1], [2, 3]] and metadata2["raw"] == b"\xff" and metadata2["empty"] == []
    assert metadata2["nested"] == [[1, 2], [3]] and metadata2["u8"] == 200 and metadata2["floats"] == [1.0, 2.5]
    for name, t in tensors.items():
        assert tensors2[name].dtype == t.dtype and tensors2[name].tolist() == t.tolist(), name


def test_scalars_and_empty_tensors_round_trip(tmp_path):
    path = tmp_path / "s.gguf"
    ember.io.save_gguf(path, {"s": ember.tensor(3.5), "e": ember.zeros((0, 2)), "after": ember.ones(3)})
    tensors, _ = ember.io.load_gguf(path)
    assert tuple(tensors["s"].shape) == () and tensors["s"].item() == 3.5
    assert tuple(tensors["e"].shape) == (0, 2) and tensors["after"].tolist() == [1.0] * 3
    assert [list(t.shape) for t in gguf.GGUFReader(path).tensors] == [[], [2, 0], [3]]


def test_save_gguf_rejects_what_gguf_cannot_hold(tmp_path):
    path = tmp_path / "x.gguf"
    with pytest.raises(TypeError, match="dtype ember.bool"):
        ember.io.save_gguf(path, {"m": ember.tensor([True])})
    with pytest.raises(ValueError, match="at most 4"):
        ember.io.save_gguf(path, {"m": ember.zeros((1, 1, 1, 1, 1))})
    with pytest.raises(ValueError, match="power of two"):
        ember.io.save_gguf(path, {}, {"general.alignment": 48})
    with pytest.raises(TypeError, match="mixing"):
        ember.io.save_gguf(path, {}, {"k": [1, "a"]})
    with pytest.raises(ValueError, match="does not fit uint8"):
        ember.io.save_gguf(path, {}, {"k": GGUFValue(256, "uint8")})
    with pytest.raises(ValueError, match="unknown type"):
        GGUFValue(1, "int128")


# --- the real SmolLM2 file ----------------------------------------------------------------------------

def test_smollm2_matches_gguf_py():
    path = smollm2_gguf_path()
    tensors, metadata = ember.io.load_gguf(path)
    reader = gguf.GGUFReader(path)
    assert len(tensors) == len(reader.tensors) == 272
    assert list(tensors) == [t.name for t in reader.tensors]
    for key, field in reader.fields.items():
        if not key.startswith("GGUF."):
            assert metadata[key] == field.contents(), key
    for rt in reader.tensors:
        t = tensors[rt.name]
        assert tuple(t.shape) == tuple(int(d) for d in rt.shape[::-1]), rt.name
        if rt.tensor_type == QT.F32:
            assert isinstance(t, ember.Tensor) and t.numpy().tobytes() == rt.data.tobytes()
            assert inside_mapping(t, path)
        else:
            assert t.qtype == rt.tensor_type.name.lower()
            assert t.data.numpy().tobytes() == rt.data.tobytes(), rt.name
            assert inside_mapping(t.data, path)


def test_smollm2_blocks_dequantize_as_gguf_py_does():
    path = smollm2_gguf_path()
    tensors, _ = ember.io.load_gguf(path)
    reader = gguf.GGUFReader(path)
    for name in ("token_embd.weight", "blk.0.attn_q.weight"):  # q8_0 and q4_1 blocks of a real model
        rt = next(x for x in reader.tensors if x.name == name)
        ref = gguf.quants.dequantize(rt.data, rt.tensor_type)
        assert np.array_equal(tensors[name].dequantize().numpy(), ref)


def test_load_dispatches_gguf_and_drops_metadata(tmp_path):
    path = write_with_gguf_py(tmp_path / "d.gguf", [("w", np.ones((2, 3), np.float16), None)])
    loaded = ember.io.load(path, dtype=ember.float32)
    assert list(loaded) == ["w"] and loaded["w"].dtype == ember.float32 and loaded["w"].tolist() == [[1.0] * 3] * 2


# --- quantized tensors --------------------------------------------------------------------------------

def _blocks(rng, qname, rows, cols):
    """(raw blocks as uint8 array, float source or None): gguf-py's quantizer where it has one."""
    qtype = QT[qname.upper()]
    try:
        src = rng.standard_normal((rows, cols)).astype(np.float32)
        return gguf.quants.quantize(src, qtype).reshape(-1), src
    except NotImplementedError:
        _, block, size = GGML_TYPES[int(qtype)]
        return rng.integers(0, 256, rows * cols // block * size, dtype=np.uint8), None


def test_quantized_tensors_round_trip_through_gguf_py_both_ways(tmp_path):
    rng = np.random.default_rng(3)
    made = {}
    for qname in QUANT_NAMES:
        if qname == "q8_1":  # gguf-py sizes its blocks as 40 bytes, ggml as 36: tested without gguf-py below
            continue
        block = gguf.GGML_QUANT_SIZES[QT[qname.upper()]][0]
        made[qname] = _blocks(rng, qname, 3, 2 * block)
    path = write_with_gguf_py(tmp_path / "q.gguf", [(q, blocks.reshape(3, -1), QT[q.upper()]) for q, (blocks, _) in made.items()])
    tensors, _ = ember.io.load_gguf(path)
    for qname, (blocks, src) in made.items():
        q = tensors[qname]
        block = gguf.GGML_QUANT_SIZES[QT[qname.upper()]][0]
        assert isinstance(q, ember.QTensor) and q.qtype == qname and tuple(q.shape) == (3, 2 * block)
        assert q.data.numpy().tobytes() == blocks.tobytes() and q.nbytes == blocks.size
        assert inside_mapping(q.data, path)
    out = tmp_path / "q2.gguf"
    ember.io.save_gguf(out, tensors, {"general.architecture": "test"})
    by_name = {t.name: t for t in gguf.GGUFReader(out).tensors}
    for qname, (blocks, _) in made.items():
        assert by_name[qname].tensor_type == QT[qname.upper()] and by_name[qname].data.tobytes() == blocks.tobytes()


def test_quantized_blocks_dequantize_as_gguf_py_does(tmp_path):
    rng = np.random.default_rng(7)
    for qname in ("q4_0", "q4_1", "q5_0", "q5_1", "q8_0"):
        blocks, _ = _blocks(rng, qname, 2, 64)
        path = write_with_gguf_py(tmp_path / f"{qname}.gguf", [("w", blocks.reshape(2, -1), QT[qname.upper()])])
        ref = gguf.quants.dequantize(blocks.reshape(2, -1), QT[qname.upper()])
        assert np.array_equal(ember.io.load_gguf(path)[0]["w"].dequantize().numpy(), ref)


def test_q8_1_round_trips_through_ember(tmp_path):
    blocks = np.random.default_rng(6).integers(0, 256, 2 * 3 * 36, dtype=np.uint8)
    q = ember.QTensor(ember.tensor(blocks), "q8_1", (2, 96))
    ember.io.save_gguf(tmp_path / "q.gguf", {"q": q})
    got = ember.io.load_gguf(tmp_path / "q.gguf")[0]["q"]
    assert got.qtype == "q8_1" and tuple(got.shape) == (2, 96) and got.data.numpy().tobytes() == blocks.tobytes()


def test_unsupported_quantizations_are_refused_by_name(tmp_path):
    raw = Raw()
    path = write(tmp_path, raw.file([], [raw.info("w", (256,), int(QT.IQ2_XXS), 0)], bytes(66)))
    with pytest.raises(FileFormatError, match="'w' has ggml type iq2_xxs, a quantization ember does not support"):
        ember.io.load_gguf(path)


def test_type_table_matches_gguf_py_and_ember():
    for type_id, (name, block, size) in GGML_TYPES.items():
        assert QT(type_id).name.lower() == name
        if name != "q8_1":  # gguf-py still lists q8_1's old float32 d and s (40 bytes); ggml's block is 36
            assert gguf.GGML_QUANT_SIZES[QT(type_id)] == (block, size), name
    assert GGML_TYPES[9] == ("q8_1", 32, 36)
    for q in ember.QTYPES:
        info = ember.quant.qtype_info(q)
        assert GGML_TYPES[info.ggml_type] == (q, info.block_size, info.type_size)


# --- malformed files -----------------------------------------------------------------------------------

def _malformed_cases():
    r, r1 = Raw(), Raw(1)
    good = f32_file(r)
    return [
        (b"GGUX" + good[4:], "bad magic b'GGUX'"),
        (good[:6], "too short for the magic and version"),
        (b"GGUF" + struct.pack("<I", 4) + good[8:], "unsupported version 4"),
        (r.file()[:20], "the file ends at byte 20 inside the metadata count"),
        (r.file([], [], n_tensors=2**40), "the tensor count is 1099511627776, but only"),
        (r.file([], [], n_kv=2**60), "the metadata count is 1152921504606846976"),
        (r1.file([], [], n_kv=2**31), "the metadata count is 2147483648"),
        (r.file([r.p("Q", 2**62) + b"k"]), "the length of the key of metadata entry 0 is 4611686018427387904"),
        (r.file([r.kv("k", VT.STRING, "v")[:-1]], alignment=1), "the length of metadata 'k' is 1, but only 0 bytes follow"),
        (r.file([r.s("k") + r.p("I", 13) + b"x"]), "metadata 'k' has unknown value type 13"),
        (r.file([r.s("k") + r.p("I", 9) + r.p("I", 4) + r.p("Q", 2**40)]), "the length of metadata 'k' is 1099511627776"),
        (r.file([r.s("k") + r.p("I", 9) + r.p("I", 8) + r.p("Q", 100) + b"x" * 700]),
         "the length of metadata 'k' is 100, but only \\d+ bytes follow \\(each item takes at least 8\\)"),
        (r.file([r.s("k") + r.p("I", 9) + (r.p("I", 9) + r.p("Q", 1)) * 20 + r.p("I", 0) + r.p("Q", 0)]),
         "nests arrays more than 16 deep"),
        (r.file([r.kv("k", VT.UINT8, 1), r.kv("k", VT.UINT8, 2)]), "metadata key 'k' appears twice"),
        (r.file([r.s(b"\xff") + r.p("I", 0) + b"\x00"]), "the key of metadata entry 0 is not valid UTF-8"),
        (f32_file(r, extra_kvs=[r.kv("general.alignment", VT.UINT32, 48)]), "general.alignment must be a non-zero power of two"),
        (f32_file(r, extra_kvs=[r.kv("general.alignment", VT.UINT32, 0)]), "general.alignment must be"),
        (f32_file(r, extra_kvs=[r.kv("general.alignment", VT.UINT64, 32)]), "of type uint32, got 32 of type uint64"),
        (f32_file(r, ne=(2, 2, 2, 2, 2)), "'w' has 5 dims \\(at most 4\\)"),
        (f32_file(r, ne=(2**40, 2**40)), "more than 2\\*\\*50 elements"),
        (f32_file(r, ne=(0, 2**63)), "each must be at most 2\\*\\*50"),
        (f32_file(r, ggml_type=99), "'w' has unknown ggml type id 99"),
        (f32_file(r, ne=(33, 1), ggml_type=2), "'w' of type q4_0 has 33 elements per row, not a multiple of its block size 32"),
        (f32_file(r, offset=16), "'w' has offset 16, not a multiple of the alignment 32"),
        (f32_file(r, offset=64), "'w' at bytes \\[\\d+, \\d+\\) runs past the end"),
        (good[:-1], "runs past the end of the \\d+-byte file"),
        (r.file([], [r.info("a", (8,), 0, 0), r.info("b", (8,), 0, 0)], bytes(64)), "tensors 'a' and 'b' overlap"),
        (r.file([], [r.info("a", (16,), 0, 0), r.info("b", (8,), 0, 32)], bytes(64)), "tensors 'a' and 'b' overlap"),
        (r.file([], [r.info("a", (8,), 0, 0), r.info("a", (8,), 0, 32)], bytes(64)), "tensor 'a' appears twice"),
        (r.file([], [r.info("a", (8,), 0, 0)[:-3]], alignment=1), "inside the offset of tensor 'a'"),
    ]


@pytest.mark.parametrize("case", range(len(_malformed_cases())))
def test_malformed_files_raise_file_format_error(tmp_path, case):
    data, message = _malformed_cases()[case]
    path = write(tmp_path, data)
    with pytest.raises(FileFormatError, match=message) as info:
        ember.io.load_gguf(path)
    assert str(path) in str(info.value)


def test_empty_tensors_and_files_without_tensors_load(tmp_path):
    r = Raw()
    tensors, metadata = ember.io.load_gguf(write(tmp_path, r.file([r.kv("k", VT.BOOL, False)], [r.info("e", (0, 3), 2, 0)])))
    assert metadata == {"k": False}
    assert tuple(tensors["e"].shape) == (3, 0) and tensors["e"].data.numel() == 0


# --- legacy GGML / GGMF / GGJT ----------------------------------------------------------------------

def legacy_file(fmt, version, tokens, tensors, hparams=(4, 8, 256, 2, 1, 4, 1)):
    """A legacy llama file; tensors: (name, ggml type, ne innermost first, raw bytes)."""
    out = bytearray({"ggml": b"lmgg", "ggmf": b"fmgg", "ggjt": b"tjgg"}[fmt])
    if fmt != "ggml":
        out += struct.pack("<I", version)
    out += struct.pack("<7I", len(tokens), *hparams[1:])
    for i, tok in enumerate(tokens):
        out += struct.pack("<I", len(tok)) + tok
        if fmt != "ggml":
            out += struct.pack("<f", -float(i))
    for name, type_id, ne, data in tensors:
        out += struct.pack(f"<3I{len(ne)}I", len(ne), len(name), type_id, *ne) + name.encode()
        if fmt == "ggjt":
            out += bytes(-len(out) % 32)
        out += data
    return bytes(out)


LEGACY_TOKENS = [b"<unk>", b"\xe2\x96\x81the", b"\x80", b""]


@pytest.mark.parametrize("fmt,version", [("ggml", 0), ("ggmf", 1), ("ggjt", 1), ("ggjt", 2), ("ggjt", 3)])
def test_reads_legacy_files(tmp_path, fmt, version):
    w = np.arange(24, dtype=np.float32).reshape(3, 8)
    h = np.arange(4, dtype=np.float16)
    path = write(tmp_path, legacy_file(fmt, version, LEGACY_TOKENS, [("tok_embeddings.weight", 0, (8, 3), w.tobytes()),
                                                                     ("norm", 1, (4,), h.tobytes())]), "m.bin")
    tensors, metadata = ember.io.load_ggml(path)
    assert metadata["format"] == fmt and metadata["version"] == version
    assert [metadata[k] for k in ("n_vocab", "n_embd", "n_mult", "n_head", "n_layer", "n_rot", "ftype")] == [4, 8, 256, 2, 1, 4, 1]
    assert metadata["tokens"] == LEGACY_TOKENS
    assert metadata.get("scores") == (None if fmt == "ggml" else [0.0, -1.0, -2.0, -3.0])
    assert tensors["tok_embeddings.weight"].tolist() == w.tolist() and tensors["norm"].tolist() == h.tolist()
    if fmt == "ggjt":
        assert inside_mapping(tensors["tok_embeddings.weight"], path)
    assert ember.io.load(path)["norm"].tolist() == h.tolist()


def test_reads_quantized_ggjt_v3(tmp_path):
    blocks, _ = _blocks(np.random.default_rng(4), "q4_0", 2, 64)
    path = write(tmp_path, legacy_file("ggjt", 3, LEGACY_TOKENS, [("w", 2, (64, 2), blocks.tobytes())]), "q.bin")
    tensors, _ = ember.io.load_ggml(path)
    assert tensors["w"].qtype == "q4_0" and tuple(tensors["w"].shape) == (2, 64)
    assert tensors["w"].data.numpy().tobytes() == blocks.tobytes()


def _legacy_malformed_cases():
    ok = [("w", 0, (4,), bytes(16))]
    return [
        (b"lmgx" + bytes(40), "bad magic"),
        (legacy_file("ggjt", 4, LEGACY_TOKENS, ok), "unsupported ggjt version 4"),
        (legacy_file("ggmf", 2, LEGACY_TOKENS, ok), "unsupported ggmf version 2"),
        (legacy_file("ggjt", 3, LEGACY_TOKENS, ok)[:20], "ends inside the hyperparameters"),
        (b"tjgg" + struct.pack("<8I", 3, 2**31, 0, 0, 0, 0, 0, 0), "n_vocab 2147483648 needs more bytes"),
        (legacy_file("ggjt", 3, [b"abc", b"d" * 4], [])[:-5], "token 1 of 4 bytes runs past the end"),
        (legacy_file("ggjt", 3, [], [("w", 0, (1, 1, 1, 1, 1), bytes(4))]), "has 5 dims \\(at most 4\\)"),
        (legacy_file("ggjt", 3, [], [("w", 0, (4,), bytes(16))])[:-1], "'w' at bytes \\[\\d+, \\d+\\) runs past the end"),
        (legacy_file("ggjt", 3, [], [("w", 16, (256,), bytes(66))]), "'w' has unknown ggml type id 16"),
        (legacy_file("ggjt", 3, [], [("w", 0, (4,), bytes(16)), ("w", 0, (4,), bytes(16))]), "tensor 'w' appears twice"),
        (legacy_file("ggjt", 1, [], [("w", 2, (32,), bytes(18))]), "'w' is q4_0 in a ggjt v1 file"),
        (legacy_file("ggjt", 2, [], [("w", 8, (32,), bytes(34))]), "'w' is q8_0 in a ggjt v2 file"),
        (legacy_file("ggjt", 3, [], [("w", 2, (31,), bytes(18))]), "not a multiple of its block size 32"),
        (legacy_file("ggjt", 3, [], [("w", 0, (2**30, 2**30), b"")]), "more than 2\\*\\*50 elements"),
        (legacy_file("ggjt", 3, [], [("w", 0, (4,), bytes(16))]) + b"\x01", "the file ends inside a tensor header"),
    ]


@pytest.mark.parametrize("case", range(len(_legacy_malformed_cases())))
def test_malformed_legacy_files_raise_file_format_error(tmp_path, case):
    data, message = _legacy_malformed_cases()[case]
    with pytest.raises(FileFormatError, match=message):
        ember.io.load_ggml(write(tmp_path, data, "bad.bin"))


# --- fuzzing ------------------------------------------------------------------------------------------

def test_fuzz_load_gguf(tmp_path):
    rng = np.random.default_rng(5)
    small = write_with_gguf_py(tmp_path / "v0.gguf", [("w", rng.standard_normal((2, 8)).astype(np.float32), None),
                                                      ("h", np.arange(4, dtype=np.float16), None)],
                               kvs=METADATA_CASES[:14] + [("nested", [[1], [2, 3]], VT.ARRAY, None)])
    r = Raw(1, ">")
    files = [small, write(tmp_path, f32_file(r, extra_kvs=[r.kv("s", VT.ARRAY, (VT.STRING, ["ab", "c"]))]), "v1.gguf")]
    blocks, _ = _blocks(rng, "q4_1", 2, 32)
    files.append(write_with_gguf_py(tmp_path / "q.gguf", [("q", blocks.reshape(2, -1), QT.Q4_1)]))
    with open(smollm2_gguf_path(), "rb") as f:  # the real file's first 4 KiB: its header's opening pairs
        files.append(write(tmp_path, f.read(4096), "smol_head.gguf"))
    summary = fuzz_reader("ember.io.load_gguf(path)", files, 3000, tmp_path, suffix=".gguf")
    assert summary["rejected"] > 1000 and summary["loaded"] > 50


def test_fuzz_load_ggml(tmp_path):
    files = [write(tmp_path, legacy_file(fmt, v, LEGACY_TOKENS, [("a", 0, (4, 2), bytes(range(32))), ("b", 1, (3,), bytes(6))]),
                   f"v{i}.bin") for i, (fmt, v) in enumerate([("ggml", 0), ("ggmf", 1), ("ggjt", 3)])]
    summary = fuzz_reader("ember.io.load_ggml(path)", files, 2000, tmp_path, suffix=".bin")
    assert summary["rejected"] > 500
