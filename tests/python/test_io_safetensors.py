"""safetensors: files written by the safetensors package read back identically and without a copy,
files ember writes read by it, sharded checkpoints, lazy access, and every malformed header refused."""

import json
import os
import struct

import ml_dtypes
import numpy as np
import pytest
import safetensors.numpy as stn
import safetensors.torch as stt
import torch

import ember
import ember.io
from ember.io import FileFormatError, SafetensorsFile
from io_fuzz import fuzz_reader
from io_testing import inside_mapping, minilm_dir

NP_DTYPES = [np.float32, np.float64, np.float16, ml_dtypes.bfloat16, np.uint8, np.int8, np.uint32, np.int32,
             np.int64, np.bool_]
SHAPES = [(), (0,), (1,), (7,), (3, 5), (2, 0, 3), (2, 3, 1, 5)]


def random_array(rng, dtype, shape):
    if dtype == np.bool_:
        return np.asarray(rng.random(shape) < 0.5)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.asarray(rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True))
    return np.asarray(rng.standard_normal(shape)).astype(dtype)


def assert_bit_equal(t, a):
    got = np.asarray(t.numpy())
    assert got.dtype == a.dtype and got.shape == a.shape
    assert got.tobytes() == np.ascontiguousarray(a).tobytes()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def test_reads_files_written_by_safetensors_numpy(tmp_path, rng):
    arrays = {f"t{i}.{np.dtype(d).name}.{len(s)}": random_array(rng, d, s)
              for i, (d, s) in enumerate((d, s) for d in NP_DTYPES for s in SHAPES)}
    path = tmp_path / "m.safetensors"
    stn.save_file(arrays, str(path), metadata={"format": "np", "note": "ünïcode"})
    loaded = ember.io.load_safetensors(path)
    assert sorted(loaded) == sorted(arrays)
    for name, a in arrays.items():
        assert_bit_equal(loaded[name], a)
    with SafetensorsFile(path) as f:
        assert f.metadata == {"format": "np", "note": "ünïcode"}
        assert f.keys() == sorted(arrays)


def test_reads_files_written_by_safetensors_torch(tmp_path):
    g = torch.Generator().manual_seed(0)
    tensors = {
        "w.bf16": torch.randn(17, 33, generator=g).to(torch.bfloat16),
        "w.f16": torch.randn(5, 7, generator=g).half(),
        "w.f32": torch.randn(64, 3, generator=g),
        "ids": torch.arange(10, dtype=torch.int64),
        "mask": torch.tensor([True, False, True]),
    }
    path = tmp_path / "t.safetensors"
    stt.save_file(tensors, str(path))
    loaded = ember.io.load_safetensors(path)
    for name, t in tensors.items():
        got = loaded[name]
        assert str(got.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        ref = t.view(torch.int16).numpy() if t.dtype == torch.bfloat16 else t.numpy()
        mine = got.numpy().view(np.int16) if t.dtype == torch.bfloat16 else got.numpy()
        np.testing.assert_array_equal(mine, ref)


def test_files_ember_writes_are_read_by_safetensors(tmp_path, rng):
    arrays = {f"x{i}": random_array(rng, d, s) for i, (d, s) in enumerate((d, s) for d in NP_DTYPES for s in SHAPES[:5])}
    tensors = {k: ember.tensor(v) for k, v in arrays.items()}
    tensors["strided"] = ember.tensor(arrays["x4"]).T if arrays["x4"].ndim == 2 else ember.arange(6).reshape(2, 3).T
    path = tmp_path / "e.safetensors"
    ember.io.save_safetensors(tensors, path, metadata={"a": "b"})
    back = stn.load_file(str(path))
    for k, a in arrays.items():
        assert back[k].dtype == a.dtype and back[k].tobytes() == a.tobytes() and back[k].shape == a.shape
    np.testing.assert_array_equal(back["strided"], tensors["strided"].numpy())
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
    assert n % 8 == 0
    tt = stt.load_file(str(path))
    assert tt["x19"].dtype == torch.bfloat16 and tt["x19"].shape == (3, 5)
    from safetensors import safe_open

    with safe_open(str(path), "np") as f:
        assert f.metadata() == {"a": "b"}


def test_every_tensor_is_aligned_in_files_ember_writes(tmp_path):
    tensors = {"a": ember.ones(3, dtype=ember.uint8), "b": ember.ones(5, dtype=ember.float64),
               "c": ember.ones(3, dtype=ember.float16), "d": ember.ones(1, dtype=ember.int32)}
    path = tmp_path / "al.safetensors"
    ember.io.save_safetensors(tensors, path)
    for name, t in ember.io.load_safetensors(path).items():
        assert t.data_ptr() % t.itemsize == 0
        assert inside_mapping(t, path), name


def test_loading_maps_the_file_without_copying(tmp_path, rng):
    a = rng.standard_normal((256, 300)).astype(np.float32)
    path = tmp_path / "big.safetensors"
    stn.save_file({"a": a, "b": a[:3]}, str(path))
    before = path.read_bytes()
    loaded = ember.io.load_safetensors(path)
    assert inside_mapping(loaded["a"], path) and inside_mapping(loaded["b"], path)
    loaded["a"][0, 0] = 1234.0  # a private copy-on-write page: the file stays as it was
    assert loaded["a"][0, 0].item() == 1234.0
    assert path.read_bytes() == before


def test_minilm_checkpoint_loads_without_copy():
    path = os.path.join(minilm_dir(), "model.safetensors")
    loaded = ember.io.load_safetensors(path)
    reference = stn.load_file(path)
    assert sorted(loaded) == sorted(reference) and len(loaded) > 100
    for name, a in reference.items():
        assert inside_mapping(loaded[name], path), name
        np.testing.assert_array_equal(loaded[name].numpy(), a)
    by_dir = ember.io.load(minilm_dir())
    assert sorted(by_dir) == sorted(reference)


def test_lazy_file_maps_one_shard_at_a_time(tmp_path, rng):
    shards = {"model-00001-of-00002.safetensors": {"a.w": random_array(rng, np.float32, (4, 3))},
              "model-00002-of-00002.safetensors": {"b.w": random_array(rng, np.float16, (5,)),
                                                   "b.i": random_array(rng, np.int64, (2,))}}
    weight_map = {}
    for fname, arrays in shards.items():
        stn.save_file(arrays, str(tmp_path / fname))
        weight_map.update(dict.fromkeys(arrays, fname))
    index = tmp_path / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {"total_size": 62}, "weight_map": weight_map}))
    f = SafetensorsFile(index)
    assert f.keys() == ["a.w", "b.i", "b.w"] and f.metadata == {"total_size": 62} and "b.w" in f and len(f) == 3
    assert not f._shards
    assert_bit_equal(f.get("b.w"), shards["model-00002-of-00002.safetensors"]["b.w"])
    assert len(f._shards) == 1
    everything = ember.io.load_safetensors(index)
    assert sorted(everything) == ["a.w", "b.i", "b.w"]
    assert sorted(ember.io.load(index)) == sorted(ember.io.load(tmp_path))
    with pytest.raises(KeyError, match="nope"):
        f.get("nope")


def test_index_naming_a_tensor_its_shard_lacks(tmp_path):
    stn.save_file({"a": np.zeros(2, np.float32)}, str(tmp_path / "s.safetensors"))
    index = tmp_path / "m.index.json"
    index.write_text(json.dumps({"weight_map": {"a": "s.safetensors", "ghost": "s.safetensors"}}))
    with pytest.raises(FileFormatError, match="ghost"):
        ember.io.load_safetensors(index)
    index.write_text(json.dumps({"weight_map": {"a": "../../etc/passwd.safetensors"}}))
    with pytest.raises(FileFormatError, match="outside"):
        SafetensorsFile(index)


def test_dtype_and_device_conversion(tmp_path, rng):
    path = tmp_path / "c.safetensors"
    stn.save_file({"w": random_array(rng, np.float32, (3, 4)), "ids": np.arange(4, dtype=np.int64)}, str(path))
    loaded = ember.io.load_safetensors(path, dtype=ember.bfloat16)
    assert loaded["w"].dtype == ember.bfloat16 and loaded["ids"].dtype == ember.int64
    with SafetensorsFile(path) as f:
        assert f.get("w", dtype=ember.float16).dtype == ember.float16
    with pytest.raises(RuntimeError, match="cuda"):
        ember.io.load_safetensors(path, device="cuda")


def test_unsupported_dtype_is_named(tmp_path):
    path = tmp_path / "i16.safetensors"
    stn.save_file({"ok": np.zeros(2, np.float32), "bad": np.zeros(3, np.int16)}, str(path))
    with pytest.raises(FileFormatError, match="I16"):
        ember.io.load_safetensors(path)
    with SafetensorsFile(path) as f:
        assert f.keys() == ["bad", "ok"]
        assert f.get("ok").shape == (2,)


def test_unaligned_data_is_copied_correctly(tmp_path, rng):
    a = random_array(rng, np.float32, (5, 3))
    header = json.dumps({"a": {"dtype": "F32", "shape": [5, 3], "data_offsets": [0, a.nbytes]}}).encode()
    header += b" " * ((-len(header) % 8) + 3)  # data starts 3 bytes past an 8-byte boundary
    path = tmp_path / "u.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + a.tobytes())
    t = ember.io.load_safetensors(path)["a"]
    assert t.data_ptr() % 4 == 0 and not inside_mapping(t, path)
    assert_bit_equal(t, a)


def raw_file(tmp_path, header, data=b"", n=None):
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(text) if n is None else n) + text + data)
    return path


BAD_HEADERS = [
    (b"", "not valid JSON", None),
    (b"[1, 2]", "JSON object", None),
    (b"{not json", "not valid JSON", None),
    (b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], '
     b'"data_offsets": [0, 4]}}', "duplicate", None),
    ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, "non-negative", None),
    ({"a": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}}, "non-negative", None),
    ({"a": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, "non-negative", None),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, "needs 8 bytes", None),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, "data_offsets|needs", None),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
      "b": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}}, "overlaps", None),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, "gap", None),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, "cover 4 bytes", b"\0" * 12),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, "cover 4 bytes", b"\0" * 0),
    ({"a": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 4]}}, "unknown dtype", None),
    ({"a": {"dtype": 3, "shape": [1], "data_offsets": [0, 4]}}, "dtype 3", None),
    ({"a": {"dtype": "F32", "shape": [1]}}, "exactly the keys", None),
    ({"a": [1, 2]}, "exactly the keys", None),
    ({"a": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 4]}}, "2\\*\\*50", None),
    ({"__metadata__": {"k": 1}}, "__metadata__", None),
]


@pytest.mark.parametrize("header,message,data", BAD_HEADERS)
def test_malformed_headers_are_refused(tmp_path, header, message, data):
    if data is None:
        data = b"\0" * 4
    path = raw_file(tmp_path, header, data)
    with pytest.raises(FileFormatError, match=message):
        ember.io.load_safetensors(path)


def test_header_length_past_the_end_or_over_the_limit(tmp_path):
    with pytest.raises(FileFormatError, match="runs past the end"):
        ember.io.load_safetensors(raw_file(tmp_path, b"{}", n=1000))
    with pytest.raises(FileFormatError, match="limit"):
        ember.io.load_safetensors(raw_file(tmp_path, b"{}", n=2**62))
    (tmp_path / "empty.safetensors").write_bytes(b"")
    with pytest.raises(FileFormatError, match="too short"):
        ember.io.load_safetensors(tmp_path / "empty.safetensors")


def test_deeply_nested_json_is_refused(tmp_path):
    with pytest.raises(FileFormatError):
        ember.io.load_safetensors(raw_file(tmp_path, b"[" * 100000 + b"]" * 100000))


def test_save_checks_its_arguments(tmp_path):
    with pytest.raises(TypeError, match="dict"):
        ember.io.save_safetensors([ember.ones(1)], tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="expected str"):
        ember.io.save_safetensors({"a": np.ones(1)}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="metadata"):
        ember.io.save_safetensors({"a": ember.ones(1)}, tmp_path / "x.safetensors", metadata={"a": 1})


def test_load_picks_the_format_from_the_content(tmp_path):
    path = tmp_path / "weights.bin"
    stn.save_file({"a": np.arange(3, dtype=np.int32)}, str(path))
    assert ember.io.load(path)["a"].tolist() == [0, 1, 2]
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"hello world, not weights")
    with pytest.raises(FileFormatError, match="not a safetensors"):
        ember.io.load(junk)


def test_fuzzed_files_load_or_raise_file_format_error(tmp_path, rng):
    valid = []
    for i, arrays in enumerate([
        {"a": random_array(rng, np.float32, (3, 4)), "b": random_array(rng, np.int64, (2,))},
        {"w": random_array(rng, ml_dtypes.bfloat16, (5, 2)), "m": random_array(rng, np.bool_, (3,)),
         "e": random_array(rng, np.float16, (0, 2))},
    ]):
        p = tmp_path / f"v{i}.safetensors"
        stn.save_file(arrays, str(p), metadata={"k": "v"} if i else None)
        valid.append(p)
    summary = fuzz_reader("ember.io.load_safetensors(path)", valid, 3000, tmp_path, suffix=".safetensors")
    assert summary["rejected"] > 1000


def test_load_tells_safetensors_from_pickle_when_the_header_length_starts_with_0x80(tmp_path):
    for pad in range(0, 200):
        name = "w" * (pad + 1)
        path = tmp_path / "p.safetensors"
        stn.save_file({name: np.arange(3, dtype=np.float32)}, str(path))
        if path.read_bytes()[0] == 0x80:
            assert ember.io.load(path)[name].tolist() == [0.0, 1.0, 2.0]
            return
    pytest.fail("no header length with low byte 0x80 was produced")


def test_directory_with_a_name_in_two_files_is_an_error(tmp_path):
    stn.save_file({"a": np.zeros(2, np.float32)}, str(tmp_path / "x.safetensors"))
    stn.save_file({"a": np.ones(2, np.float32)}, str(tmp_path / "y.safetensors"))
    with pytest.raises(FileFormatError, match="'a' is in both x.safetensors and y.safetensors"):
        ember.io.load(tmp_path)
