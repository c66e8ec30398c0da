"""ember.io.load_pth / load_pth_object against files written by torch.save (zip and raw legacy
formats), a hand-built legacy tar checkpoint, and hostile pickles.

Tensors are compared byte for byte with torch's (so bf16, NaN payloads and -0.0 are exact), and
views are checked to share the file mapping's memory exactly as they shared torch's storages.
"""

import collections
import ctypes
import io
import os
import pickle
import struct
import tarfile
import time
import zipfile

import ml_dtypes
import numpy as np
import pytest
import torch

import ember
import ember.io
from ember.io import pth
from ember.io._common import FileFormatError, UnsafePickleError
from ember.io._unpickler import PLAIN_GLOBALS, unpickle
from io_fuzz import fuzz_reader

DTYPES = {
    "float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16,
    "uint8": torch.uint8, "int8": torch.int8, "uint32": torch.uint32, "int32": torch.int32,
    "int64": torch.int64, "bool": torch.bool,
}


def raw_bytes(t):
    """The row-major bytes of a torch or ember tensor."""
    if isinstance(t, torch.Tensor):
        flat = torch.empty(t.numel(), dtype=t.dtype).copy_(t.detach().reshape(-1))
        return flat.view(torch.uint8).numpy().tobytes()
    return t.contiguous().reshape(-1).view(ember.uint8).numpy().tobytes()


def assert_same(e, t):
    assert isinstance(e, ember.Tensor)
    assert str(e.dtype) == "ember." + str(t.dtype).removeprefix("torch.")
    assert tuple(e.shape) == tuple(t.shape)
    assert raw_bytes(e) == raw_bytes(t)
    if t.dtype == torch.bfloat16:
        expected = t.detach().contiguous().view(torch.int16).numpy().view(ml_dtypes.bfloat16)
        np.testing.assert_array_equal(e.numpy().view(np.int16), expected.view(np.int16))
    elif t.dtype != torch.uint32:
        np.testing.assert_array_equal(e.numpy(), t.detach().numpy())


def assert_state_dict(loaded, expected):
    assert list(loaded) == list(expected)
    for name, t in expected.items():
        assert_same(loaded[name], t)


def assert_torch_state_dict(reference, expected):
    """Checks a test file through torch's own reader."""
    assert list(reference) == list(expected)
    for name, t in expected.items():
        assert reference[name].dtype == t.dtype and reference[name].shape == t.shape
        assert raw_bytes(reference[name]) == raw_bytes(t), name


def sample(dtype, shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.bool:
        return torch.rand(shape, generator=g) > 0.5
    if dtype.is_floating_point:
        t = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)
        flat = t.view(-1)
        specials = torch.tensor([float("nan"), float("inf"), -float("inf"), -0.0], dtype=dtype)
        flat[: min(4, flat.numel())] = specials[: min(4, flat.numel())]
        return t
    info = torch.iinfo(dtype)
    return torch.randint(max(info.min, -(2**62)), min(info.max, 2**62), shape, generator=g, dtype=torch.int64).to(dtype)


def save(obj, path, **kw):
    torch.save(obj, path, **kw)
    return path


def rewrite_zip(src, dst, change=None, compress=zipfile.ZIP_STORED):
    """Copies a zip checkpoint, replacing records: ``change(name, data)`` returns new bytes (or data)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression=compress) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info.filename, change(info.filename, data) if change else data, compress_type=compress)
    return dst


def zip_with_pickle(path, data):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", data)
    return path


# --- zip format ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(DTYPES))
def test_every_dtype(tmp_path, name):
    sd = {"a": sample(DTYPES[name], (3, 5)), "b": sample(DTYPES[name], (7,), seed=1)}
    loaded = ember.io.load_pth(save(sd, tmp_path / "m.pth"))
    assert_state_dict(loaded, sd)


def test_views_share_one_storage(tmp_path):
    base = sample(torch.float32, (6, 8))
    sd = collections.OrderedDict(
        base=base, t=base.t(), row=base[2], narrow=base.view(-1)[5:17], step=base[:, 1::3],
        col=base[:, 3], expanded=base[0:1, :].expand(4, 8), tail=base.view(-1)[40:],
    )
    loaded = ember.io.load_pth(save(sd, tmp_path / "views.pth"))
    assert_state_dict(loaded, sd)
    ptr0 = loaded["base"].data_ptr()
    for name, t in sd.items():
        assert tuple(loaded[name].stride()) == t.stride(), name
        assert loaded[name].data_ptr() - ptr0 == (t.data_ptr() - base.data_ptr()), name
    loaded["base"].fill_(7.0)  # the views see the write: one memory
    assert loaded["t"].numpy().tolist() == np.full((8, 6), 7.0, np.float32).tolist()
    assert loaded["narrow"].numpy().tolist() == [7.0] * 12


def test_shared_storage_across_keys_and_untyped_v3(tmp_path):
    # uint32 tensors pickle through _rebuild_tensor_v3 with an UntypedStorage.
    base = torch.arange(20, dtype=torch.int64).to(torch.uint32)
    sd = {"all": base, "mid": base[4:10], "pair": base.view(10, 2)[:, 1]}
    loaded = ember.io.load_pth(save(sd, tmp_path / "u32.pth"))
    assert_state_dict(loaded, sd)
    assert loaded["mid"].data_ptr() - loaded["all"].data_ptr() == 16
    assert loaded["pair"].data_ptr() - loaded["all"].data_ptr() == 4


def test_zero_dim_and_empty(tmp_path):
    sd = {
        "scalar": torch.tensor(2.5), "int_scalar": torch.tensor(-3, dtype=torch.int64),
        "empty": torch.empty(0), "empty2": torch.zeros(3, 0, dtype=torch.int32),
        "empty_view": torch.arange(6.0)[6:], "bool_scalar": torch.tensor(True),
    }
    loaded = ember.io.load_pth(save(sd, tmp_path / "small.pth"))
    assert_state_dict(loaded, sd)
    assert loaded["scalar"].item() == 2.5 and loaded["scalar"].ndim == 0


def test_module_state_dict_with_parameters(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2, bias=False))
    model(torch.randn(5, 4))  # updates the batch-norm buffers
    sd = model.state_dict()
    loaded = ember.io.load_pth(save(sd, tmp_path / "model.pth"))
    assert_state_dict(loaded, sd)
    params = {"w": torch.nn.Parameter(torch.randn(2, 3)),
              "frozen": torch.nn.Parameter(torch.ones(2), requires_grad=False)}
    loaded = ember.io.load_pth(save(params, tmp_path / "params.pth"))
    assert_state_dict(loaded, params)


@pytest.mark.parametrize("protocol", [1, 3, 4, 5])
def test_other_pickle_protocols(tmp_path, protocol):
    base = sample(torch.bfloat16, (4, 3))
    sd = {"w": base, "t": base.t(), "i": torch.arange(3), "s": torch.tensor(1.0)}
    for legacy in (False, True):
        path = save({"state_dict": sd, "note": "x" * 300}, tmp_path / "p.pth", pickle_protocol=protocol,
                    _use_new_zipfile_serialization=not legacy)
        assert_state_dict(ember.io.load_pth(path), sd)


def test_protocol_0_checkpoints_are_refused_cleanly(tmp_path):
    # Protocol 0 writes each persistent id as str(tuple); torch.load cannot read these either.
    for legacy in (False, True):
        path = save({"w": torch.ones(2)}, tmp_path / "p0.pth", pickle_protocol=0,
                    _use_new_zipfile_serialization=not legacy)
        with pytest.raises(FileFormatError, match="p0.pth: .*persistent id"):
            ember.io.load_pth(path)


def test_tensor_with_attributes_and_hooks_loads_plain(tmp_path):
    t = torch.randn(3, requires_grad=True)
    u = torch.arange(4.0)
    u.note = "python attribute"  # pickled through _rebuild_from_type_v2
    loaded = ember.io.load_pth(save({"t": t, "u": u}, tmp_path / "attr.pth"))
    assert_state_dict(loaded, {"t": t, "u": u})


def test_nested_checkpoints_are_unwrapped_and_flattened(tmp_path):
    sd = {"layer.weight": torch.randn(2, 2), "layer.bias": torch.randn(2)}
    for wrapper in ("state_dict", "model", "module"):
        ckpt = {wrapper: sd, "epoch": 7, "optimizer": {"lr": 0.1, "state": {0: {"m": torch.ones(2)}}}, "note": "x"}
        assert_state_dict(ember.io.load_pth(save(ckpt, tmp_path / f"{wrapper}.pth")), sd)
    nested = {"model": {"module": {"enc": {"w": torch.ones(3)}, "head": {"b": torch.zeros(1), "n_layers": 2}}}}
    loaded = ember.io.load_pth(save(nested, tmp_path / "nested.pth"))
    assert_state_dict(loaded, {"enc.w": torch.ones(3), "head.b": torch.zeros(1)})
    mixed = {"w": torch.ones(2), "sub": {"x": torch.zeros(2)}, "meta": {"k": 1}, "lst": [torch.ones(1)]}
    loaded = ember.io.load_pth(save(mixed, tmp_path / "mixed.pth"))
    assert_state_dict(loaded, {"w": torch.ones(2), "sub.x": torch.zeros(2)})


def test_load_pth_object_returns_everything(tmp_path):
    w = torch.randn(2, 3)
    obj = {
        "tensors": [w, w.t(), (w[0], torch.tensor(1))], "epoch": 3, "lr": 1e-3, "name": "run", "raw": b"\x00\xff",
        "flags": {True, False}, "frozen": frozenset({"a"}), "nothing": None, "big": 2**100, "neg": -5,
        "od": collections.OrderedDict(b=1, a=2), "dtype": torch.bfloat16, "other_dtype": torch.int16,
        "size": torch.Size([2, 3]), "device": torch.device("cuda", 1), "blob": bytearray(b"xy"), "c": 1 + 2j,
    }
    loaded = ember.io.load_pth_object(save(obj, tmp_path / "obj.pth"))
    assert_same(loaded["tensors"][0], w)
    assert_same(loaded["tensors"][1], w.t())
    assert_same(loaded["tensors"][2][0], w[0])
    assert loaded["tensors"][1].data_ptr() == loaded["tensors"][0].data_ptr()
    assert isinstance(loaded["tensors"][2], tuple)
    for key in ("epoch", "lr", "name", "raw", "flags", "frozen", "nothing", "big", "neg", "blob", "c"):
        assert loaded[key] == obj[key] and type(loaded[key]) is type(obj[key]), key
    assert type(loaded["od"]) is collections.OrderedDict and list(loaded["od"].items()) == [("b", 1), ("a", 2)]
    assert loaded["dtype"] == ember.bfloat16
    assert repr(loaded["other_dtype"]) == "torch.int16"
    assert loaded["size"] == (2, 3) and loaded["device"] == "cuda:1"


def test_bare_tensor_and_storage(tmp_path):
    t = torch.arange(5, dtype=torch.int32)
    assert_same(ember.io.load_pth_object(save(t, tmp_path / "t.pth")), t)
    storage = ember.io.load_pth_object(save([t.untyped_storage()], tmp_path / "s.pth"))[0]
    assert storage.dtype == ember.uint8 and raw_bytes(storage) == raw_bytes(t)
    with pytest.raises(FileFormatError, match="not a dict of tensors"):
        ember.io.load_pth(tmp_path / "t.pth")


def test_zero_copy_from_the_file_mapping(tmp_path, monkeypatch):
    sd = {"a": sample(torch.float32, (16, 16)), "b": sample(torch.int64, (9,), seed=3),
          "c": sample(torch.float16, (33,), seed=4)}
    sd["a_t"] = sd["a"].t()
    path = save(sd, tmp_path / "zc.pth")
    mappings = []

    def spy(p):
        mm = real_map_file(p)
        mappings.append(mm)
        return mm

    real_map_file = pth.map_file
    monkeypatch.setattr(pth, "map_file", spy)
    loaded = ember.io.load_pth(path)
    (mm,) = mappings
    base = ctypes.addressof(ctypes.c_char.from_buffer(mm))
    contents = path.read_bytes()
    for name in ("a", "b", "c"):
        offset = loaded[name].data_ptr() - base
        assert 0 <= offset and offset + loaded[name].nbytes <= len(mm), name
        assert offset == contents.find(raw_bytes(sd[name])), name
    assert loaded["a_t"].data_ptr() == loaded["a"].data_ptr()
    loaded["a"].fill_(0.0)  # a private copy-on-write page: the file is untouched
    assert path.read_bytes() == contents
    assert_same(ember.io.load_pth(path)["a"], sd["a"])


def test_map_location(tmp_path):
    sd = {"w": torch.randn(3)}
    path = save(sd, tmp_path / "m.pth")
    assert_state_dict(ember.io.load_pth(path, map_location=ember.device("cpu")), sd)
    assert_state_dict(ember.io.load_pth(path, map_location=None), sd)
    with pytest.raises(TypeError):
        ember.io.load_pth(path, map_location={"cuda:0": "cpu"})
    if ember.cuda.is_available():
        loaded = ember.io.load_pth(path, map_location="cuda")
        assert loaded["w"].is_cuda
        assert_same(loaded["w"].cpu(), sd["w"])


def test_cuda_saved_location_loads_on_cpu(tmp_path):
    # A checkpoint saved on a GPU names location "cuda:0" and torch.cuda.*Storage; rewrite one by hand.
    path = save({"w": torch.arange(4.0)}, tmp_path / "cpu.pth")

    def to_cuda(name, data):
        if name.endswith("data.pkl"):
            return data.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0").replace(
                b"ctorch\nFloatStorage", b"ctorch.cuda\nFloatStorage")
        return data

    loaded = ember.io.load_pth(rewrite_zip(path, tmp_path / "cuda.pth", to_cuda))
    assert_same(loaded["w"], torch.arange(4.0))


def test_deflated_records(tmp_path):
    sd = {"w": sample(torch.float32, (40,)), "i": torch.arange(10)}
    path = rewrite_zip(save(sd, tmp_path / "s.pth"), tmp_path / "d.pth", compress=zipfile.ZIP_DEFLATED)
    assert_state_dict(ember.io.load_pth(path), sd)


@pytest.mark.parametrize("declared, message", [(1024, "does not inflate to its declared 1024"),
                                               (1 << 31, "more than deflate can expand")])
def test_deflated_record_is_capped_at_its_declared_size(tmp_path, declared, message):
    sd = {"w": torch.zeros(1 << 16)}
    path = rewrite_zip(save(sd, tmp_path / "s.pth"), tmp_path / "d.pth", compress=zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    # The last mention of the name is its central directory entry, whose header is 46 bytes.
    entry = data.rfind(b"s/data/0") - 46
    assert data[entry:entry + 4] == b"PK\x01\x02" and struct.unpack_from("<I", data, entry + 24)[0] == 1 << 18
    struct.pack_into("<I", data, entry + 24, declared)
    (tmp_path / "bomb.pth").write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=f"bomb.pth: .*{message}"):
        ember.io.load_pth(tmp_path / "bomb.pth")


def test_big_endian_checkpoint_is_byteswapped(tmp_path):
    names = ["float32", "bfloat16", "int64", "uint8", "bool", "float64"]
    sd = {name: sample(DTYPES[name], (5,), seed=i) for i, name in enumerate(names)}
    itemsize = {str(i): DTYPES[name].itemsize for i, name in enumerate(names)}

    def to_big(name, data):
        if name.endswith("/byteorder"):
            return b"big"
        key = name.rsplit("/data/", 1)[-1] if "/data/" in name else None
        if key in itemsize:
            k = itemsize[key]
            return b"".join(data[i:i + k][::-1] for i in range(0, len(data), k))
        return data

    path = rewrite_zip(save(sd, tmp_path / "le.pth"), tmp_path / "be.pth", to_big)
    assert_torch_state_dict(torch.load(path), sd)  # torch agrees that this is the big-endian spelling
    assert_state_dict(ember.io.load_pth(path), sd)


def test_hub_bin_name(tmp_path):
    sd = {"embeddings.weight": torch.randn(4, 2, dtype=torch.float16)}
    assert_state_dict(ember.io.load_pth(save(sd, tmp_path / "pytorch_model.bin")), sd)


def test_load_dispatches_every_layout(tmp_path):
    sd = {"w": torch.randn(3, 2), "i": torch.arange(4)}
    for name, kw in (("zip.pt", {}), ("raw.pt", {"_use_new_zipfile_serialization": False})):
        assert_state_dict(ember.io.load(save(sd, tmp_path / name, **kw)), sd)
    expected = legacy_tar_sample(tmp_path / "tar.pt")
    assert_state_dict(ember.io.load(tmp_path / "tar.pt"), expected)


# --- legacy formats ----------------------------------------------------------------------------

def test_legacy_raw_format(tmp_path):
    base = sample(torch.float32, (4, 6))
    sd = collections.OrderedDict(
        base=base, t=base.t(), narrow=base.view(-1)[3:11], bf=sample(torch.bfloat16, (7,)), i=torch.arange(5),
        scalar=torch.tensor(1.5, dtype=torch.float64), empty=torch.empty(0, dtype=torch.int8),
        flag=torch.tensor([True, False]),
    )
    ckpt = {"state_dict": sd, "epoch": 2}
    path = save(ckpt, tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    assert path.read_bytes()[:2] == b"\x80\x02"
    loaded = ember.io.load_pth(path)
    assert_state_dict(loaded, sd)
    assert loaded["narrow"].data_ptr() - loaded["base"].data_ptr() == 12
    assert loaded["t"].data_ptr() == loaded["base"].data_ptr()
    whole = ember.io.load_pth_object(path)
    assert whole["epoch"] == 2


def _legacy_tar(path, storages, views, tensors, obj):
    """Writes the pre-0.4 tar checkpoint that torch.serialization._legacy_load reads.

    storages: [(key, storage class, torch tensor whose bytes are the storage)],
    views: [(view key, root key, offset, numel)], tensors: {key: (storage key, tensor class, tensor)}
    (the tensor's size/stride/storage_offset are written), obj: a structure of tensors, pickled
    with each tensor replaced by its key as a persistent id."""
    def pickled(*values):
        return b"".join(pickle.dumps(v, protocol=2) for v in values)

    st = io.BytesIO()
    st.write(pickled(len(storages)))
    for key, storage_class, data in storages:
        st.write(pickled((key, "cpu", storage_class)))
        st.write(struct.pack("<q", data.numel()) + raw_bytes(data))
    st.write(pickled(views))

    ts = io.BytesIO()
    ts.write(pickled(len(tensors)))
    for key, (storage_key, tensor_class, t) in tensors.items():
        ts.write(pickled((key, storage_key, tensor_class)))
        ts.write(struct.pack("<ii", t.dim(), 0) + struct.pack(f"<{t.dim()}q", *t.shape))
        ts.write(struct.pack(f"<{t.dim()}q", *t.stride()) + struct.pack("<q", t.storage_offset()))

    keys = {id(t): key for key, (_, _, t) in tensors.items()}

    class Pickler(pickle.Pickler):
        def persistent_id(self, value):
            return str(keys[id(value)]) if isinstance(value, torch.Tensor) else None

    pk = io.BytesIO()
    Pickler(pk, protocol=2).dump(obj)
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, member in (("sys_info", io.BytesIO(pickled({}))), ("pickle", pk), ("storages", st), ("tensors", ts)):
            info = tarfile.TarInfo(name)
            info.size = len(member.getvalue())
            member.seek(0)
            tar.addfile(info, member)
    return path


def legacy_tar_sample(path):
    floats = sample(torch.float32, (12,))
    longs = torch.arange(6, dtype=torch.int64)

    def tensor(storage, offset, size, stride):
        return torch.empty(0, dtype=storage.dtype).set_(storage.untyped_storage(), offset, size, stride)

    expected = {
        "mat": tensor(floats, 0, (3, 4), (4, 1)), "mat_t": tensor(floats, 0, (4, 3), (1, 4)),
        "in_view": tensor(floats, 5, (3,), (2,)), "ints": tensor(longs, 1, (4,), (1,)),
    }
    # Tensor 12 lives in view storage 3, which starts 4 elements into storage 1: its offset is relative.
    in_view_as_written = tensor(floats, 1, (3,), (2,))
    tensors = {
        10: (1, torch.FloatTensor, expected["mat"]), 11: (1, torch.FloatTensor, expected["mat_t"]),
        12: (3, torch.FloatTensor, in_view_as_written), 13: (2, torch.LongTensor, expected["ints"]),
    }
    obj = {"state_dict": {"mat": expected["mat"], "mat_t": expected["mat_t"], "in_view": in_view_as_written,
                          "ints": expected["ints"]}, "epoch": 1}
    _legacy_tar(path, [(1, torch.FloatStorage, floats), (2, torch.LongStorage, longs)], [(3, 1, 4, 8)], tensors, obj)
    return expected


def test_legacy_tar_format(tmp_path):
    path = tmp_path / "old.tar.pth"
    expected = legacy_tar_sample(path)
    # torch's own legacy reader agrees with the file (weights_only refuses tar files).
    reference = torch.load(path, weights_only=False)["state_dict"]
    assert_torch_state_dict(reference, expected)
    loaded = ember.io.load_pth(path)
    assert_state_dict(loaded, expected)
    assert loaded["mat_t"].data_ptr() == loaded["mat"].data_ptr()
    assert loaded["in_view"].data_ptr() - loaded["mat"].data_ptr() == 5 * 4
    assert ember.io.load_pth_object(path)["epoch"] == 1


# --- hostile and malformed files ------------------------------------------------------------------

class _Evil:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return self.fn, (self.arg,)


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("target", ["os.system", "builtins.exec", "builtins.eval"])
def test_malicious_pickle_never_runs(tmp_path, target, legacy):
    marker = tmp_path / "pwned"
    fn = {"os.system": os.system, "builtins.exec": exec, "builtins.eval": eval}[target]
    arg = f"touch {marker}" if fn is os.system else f"open({str(marker)!r}, 'w').close()"
    path = save({"w": torch.ones(2), "x": _Evil(fn, arg)}, tmp_path / "evil.pth",
                _use_new_zipfile_serialization=not legacy)
    name = f"{fn.__module__}.{fn.__name__}"  # os.system pickles as posix.system
    with pytest.raises(UnsafePickleError, match=f"evil.pth.*'{name}'"):
        ember.io.load_pth(path)
    with pytest.raises(UnsafePickleError):
        ember.io.load_pth_object(path)
    assert not marker.exists()


def test_protocol_0_global_and_other_escapes(tmp_path):
    marker = tmp_path / "pwned"
    cases = {
        "os.system": f"cos\nsystem\n(S'touch {marker}'\ntR.".encode(),
        "subprocess.call": f"csubprocess\ncall\n(S'touch {marker}'\ntR.".encode(),
        "builtins.getattr": b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x07getattr\x93.",
        "torch.load": b"\x80\x02ctorch\nload\nq\x00.",
    }
    for name, data in cases.items():
        with pytest.raises(UnsafePickleError, match=f"'{name}'"):
            ember.io.load_pth_object(zip_with_pickle(tmp_path / "p.pth", data))
    # Allowed globals may not be misused: no NEWOBJ of a function, no BUILD on a non-OrderedDict.
    with pytest.raises(UnsafePickleError, match="NEWOBJ"):
        ember.io.load_pth_object(zip_with_pickle(tmp_path / "p.pth", b"\x80\x02c_codecs\nencode\n)\x81."))
    with pytest.raises(UnsafePickleError, match="BUILD"):
        ember.io.load_pth_object(zip_with_pickle(tmp_path / "p.pth", b"\x80\x02]}b."))
    with pytest.raises(UnsafePickleError, match="INST"):
        ember.io.load_pth_object(zip_with_pickle(tmp_path / "p.pth", b"(ios\nsystem\n."))
    with pytest.raises(UnsafePickleError, match="0xff"):
        ember.io.load_pth_object(zip_with_pickle(tmp_path / "p.pth", b"\x80\x02\xff."))
    zlib_bomb = b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x04\x00\x00\x00zlib\x86R."
    with pytest.raises(FileFormatError, match="zlib|latin1"):
        ember.io.load_pth_object(zip_with_pickle(tmp_path / "p.pth", zlib_bomb))
    huge_bytearray = b"\x80\x02c__builtin__\nbytearray\nJ\xff\xff\xff\x7f\x85R."
    with pytest.raises(FileFormatError, match="bytes value"):  # bytearray(size) would allocate
        ember.io.load_pth_object(zip_with_pickle(tmp_path / "p.pth", huge_bytearray))
    assert not marker.exists()


@pytest.mark.parametrize("dtype", [torch.int16, torch.complex64, torch.uint16, torch.float8_e4m3fn])
def test_unsupported_dtype_is_named(tmp_path, dtype):
    path = save({"w": torch.zeros(3, dtype=dtype)}, tmp_path / "u.pth")
    name = str(dtype)
    with pytest.raises(FileFormatError, match=f"u.pth.*{name}"):
        ember.io.load_pth(path)
    legacy = save({"w": torch.zeros(3, dtype=torch.int16)}, tmp_path / "ul.pth", _use_new_zipfile_serialization=False)
    with pytest.raises(FileFormatError, match="torch.int16"):
        ember.io.load_pth(legacy)


@pytest.mark.parametrize("data, message", [
    (b"", "not a PyTorch checkpoint"),
    (b"hello world", "not a PyTorch checkpoint"),
    (b"PK\x03\x04" + b"\x00" * 40, "not a readable zip"),
    (b"\x80\x02K\x05.", "magic number"),
    (b"\x80\x02", "before its STOP"),
])
def test_malformed_files(tmp_path, data, message):
    path = tmp_path / "bad.pth"
    path.write_bytes(data)
    with pytest.raises(FileFormatError, match=f"bad.pth: .*{message}"):
        ember.io.load_pth(path)


def test_truncated_checkpoints(tmp_path):
    sd = {"w": torch.randn(64), "i": torch.arange(16)}
    for legacy in (False, True):
        whole = save(sd, tmp_path / "whole.pth", _use_new_zipfile_serialization=not legacy).read_bytes()
        for cut in (len(whole) - 1, len(whole) - 70, len(whole) // 2, 40, 3):
            (tmp_path / "cut.pth").write_bytes(whole[:cut])
            with pytest.raises(FileFormatError, match="cut.pth"):
                ember.io.load_pth(tmp_path / "cut.pth")


@pytest.mark.parametrize("data, message", [
    (b"\x80\x02.", "empty stack"),
    (b"\x80\x02h\x05.", "memo key 5"),
    (b"\x80\x02X\xff\xff\xff\xffabc.", "needs 4294967295 bytes"),
    (b"\x80\x02\x8b\x00\x00\x00\x7fabc.", "integer of 2130706432 bytes"),
    (b"\x80\x02\x8a\xff\x01\x01.", "needs 255 bytes"),
    (b"\x80\x02" + b")" + b"\x85" * 100_000 + b".", "nest deeper"),
    (b"\x80\x02" + b"]" * 5000 + b"a" * 4999 + b".", "nests deeper"),
    (b"\x80\x02]q\x00h\x00a.", "contains itself"),
    (b"\x80\x02}]\x85Ns.", "not hashable"),
    (b"\x80\x02(K\x01K\x02K\x03d.", "odd number"),
    (b"\x80\x02K\x01K\x02a.", "APPEND to a int"),
    (b"\x80\x06N.", "protocol 6"),
    (b"\x80\x02ccollections\nOrderedDict\nK\x01R.", "OrderedDict"),
    (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(K\x01t\x85R.", "_rebuild_tensor_v2"),
    (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(K\x01K\x00)K\x00\x89Ntb.", None),
    (b"\x80\x02ctorch._utils\n_rebuild_sparse_tensor\nK\x01\x85R.", "sparse tensors"),
    (b"\x80\x02X\x03\x00\x00\x00abcQ.", "persistent id"),
    (b"\x80\x02c__builtin__\nfrozenset\n" + b"2" * 299 + b"N" + b"\x85\x85R" * 300 + b".", "nest deeper"),
    (b"\x80\x02c_codecs\nencode\nq\x00X\xa0\x86\x01\x00" + b"a" * 100_000 + b"q\x01X\x06\x00\x00\x00latin1q\x02"
     + b"h\x00h\x01h\x02\x86R0" * 1000 + b"N.", "build more than"),
])
def test_malformed_pickles(tmp_path, data, message):
    path = zip_with_pickle(tmp_path / "p.pth", data)
    if message is None:
        with pytest.raises(FileFormatError):
            ember.io.load_pth_object(path)
        return
    with pytest.raises(FileFormatError, match=f"p.pth: .*{message}"):
        ember.io.load_pth_object(path)


def test_bad_storage_references(tmp_path):
    sd = {"w": torch.arange(8.0)}
    path = save(sd, tmp_path / "s.pth")
    cases = {
        "numel": (b"K\x08t", b"K\x09t", "holds 32 bytes"),         # storage numel disagrees with its record
        "offset": (b"K\x00K\x08\x85", b"K\x01K\x08\x85", "reaches past"),  # view past the storage's end
        "key": (b"X\x01\x00\x00\x000", b"X\x01\x00\x00\x007", "no record"),
    }
    for name, (old, new, message) in cases.items():
        def change(n, data):
            if n.endswith("data.pkl"):
                assert old in data, name
                return data.replace(old, new, 1)
            return data
        bad = rewrite_zip(path, tmp_path / f"{name}.pth", change)
        with pytest.raises(FileFormatError, match=f"{name}.pth: .*{message}"):
            ember.io.load_pth(bad)


class _FakeStorage:
    pass


class _FakeTensor:
    """Pickles as torch._utils._rebuild_tensor_v2 over storage '0' with any layout, valid or not."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, self.args


def fake_checkpoint(path, offset, size, stride, numel=8):
    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, "0", "cpu", numel) if isinstance(obj, _FakeStorage) else None

    data = io.BytesIO()
    Pickler(data, protocol=2).dump({"w": _FakeTensor(_FakeStorage(), offset, size, stride)})
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", data.getvalue())
        z.writestr("archive/data/0", np.arange(8, dtype=np.float32).tobytes())
    return path


@pytest.mark.parametrize("offset, size, stride, message", [
    (5, (3,), (-1,), "not a valid view"),
    (100, (0,), (1,), "offset 100 lies outside"),
    (0, (0, 2**70), (1, 1), "not a valid view"),
    (0, (0, 3), (2**70, 1), "not a valid view"),
    (0, (3,), (4,), "reaches past"),
    (-1, (1,), (1,), "offset"),
    (0, (2, 2), (1,), "strides"),
    (0, [2.0], [1], "shape"),
    (0, (1 << 40,), (0,), "repeats"),
])
def test_invalid_layouts(tmp_path, offset, size, stride, message):
    with pytest.raises(FileFormatError, match=f"bad.pth: .*{message}"):
        ember.io.load_pth(fake_checkpoint(tmp_path / "bad.pth", offset, size, stride))


def test_valid_handmade_layouts(tmp_path):
    values = torch.arange(8, dtype=torch.float32)
    layouts = [(1, (2, 2), (1, 2)), (8, (0,), (1,)), (3, (), ()), (0, (2, 3), (0, 1)), (7, (1, 1), (5, 9))]
    for offset, size, stride in layouts:
        loaded = ember.io.load_pth(fake_checkpoint(tmp_path / "ok.pth", offset, size, stride))["w"]
        assert_same(loaded, torch.as_strided(values, size, stride, offset))


def test_shared_dicts_cannot_explode_the_flattened_state_dict(tmp_path):
    d = {"leaf": 1}
    for _ in range(60):
        d = {"x": d, "y": d}  # pickled once each through the memo; 2**60 paths
    start = time.perf_counter()
    with pytest.raises(FileFormatError, match="more than"):
        ember.io.load_pth(zip_with_pickle(tmp_path / "dag.pth", pickle.dumps(d, protocol=2)))
    assert time.perf_counter() - start < 10
    assert ember.io.load_pth_object(tmp_path / "dag.pth")["x"]["y"]["x"] is not None


def test_expanded_view_cannot_blow_up(tmp_path):
    path = save({"w": torch.zeros(1).expand(1 << 20)}, tmp_path / "expand.pth")
    assert ember.io.load_pth(path)["w"].shape == (1 << 20,)

    def widen(name, data):
        return data.replace(b"J\x00\x00\x10\x00\x85", b"J\x00\x00\x00\x40\x85") if name.endswith("data.pkl") else data

    with pytest.raises(FileFormatError, match="repeats"):
        ember.io.load_pth(rewrite_zip(path, tmp_path / "wide.pth", widen))


# --- the interpreter on plain data --------------------------------------------------------------

PLAIN = {
    "ints": [0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -(2**31), 2**31, -(2**63), 2**64, 2**200, -(2**200)],
    "floats": [0.5, -0.0, float("inf"), -float("inf"), 1e300, 5e-324],
    "strs": ["", "ascii", "ünïcödé ✓", "x" * 300, "line\nbreak", "back\\slash"],
    "bytes": [b"", b"\x00\xff" * 5, b"y" * 300],
    "bytearray": bytearray(b"\x00ab"),
    "tuples": ((), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), ((("deep",),),)),
    "set": {1, "two", (3,)}, "frozenset": frozenset({4, 5}), "none": None, "bools": [True, False],
    "od": collections.OrderedDict(z=1, a=[2]), "counter": collections.Counter(a=3), "complex": 1.5 - 2j,
    1: "int key", (1, 2): "tuple key",
}
PLAIN["shared"] = [PLAIN["ints"], PLAIN["ints"]]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_unpickler_matches_pickle_on_plain_data(protocol):
    data = pickle.dumps(PLAIN, protocol=protocol)
    obj, end = unpickle(data, "mem", "test", PLAIN_GLOBALS)
    assert end == len(data)
    assert obj == pickle.loads(data) == PLAIN
    assert obj["shared"][0] is obj["shared"][1]
    assert type(obj["od"]) is collections.OrderedDict and type(obj["counter"]) is collections.Counter


def test_unpickler_python2_opcodes():
    cases = {
        b"S'abc\\x00\\n'\np0\n.": "abc\x00\n",
        b'S"it\'s"\n.': "it's",
        b"T\x03\x00\x00\x00xyz.": "xyz",
        b"U\x02\xff\xfe.": b"\xff\xfe",  # not UTF-8: stays bytes
        b"(I01\nI00\nI42\nL7L\nF2.5\nVcaf\\u00e9\nt.": (True, False, 42, 7, 2.5, "café"),
        b"(lp0\nI1\naI2\na(dp1\nS'k'\np2\ng0\nsg2\n.": "k",
        b"\x80\x02(K\x01K\x021K\x03\x85.": (3,),
        b"\x80\x02K\x01K\x020.": 1,
        b"\x80\x02K\x01\x94h\x00\x86.": (1, 1),
    }
    for data, expected in cases.items():
        assert unpickle(data, "mem", "test", PLAIN_GLOBALS)[0] == expected, data
    bytearray8 = b"\x80\x05\x96\x02\x00\x00\x00\x00\x00\x00\x00ab."
    assert unpickle(bytearray8, "mem", "t", PLAIN_GLOBALS)[0] == bytearray(b"ab")


def test_unpickler_rejects_what_it_cannot_check():
    with pytest.raises(UnsafePickleError, match="persistent"):
        unpickle(b"\x80\x02K\x01Q.", "mem", "test", PLAIN_GLOBALS)
    with pytest.raises(UnsafePickleError, match="NEXT_BUFFER"):
        unpickle(b"\x80\x05\x97.", "mem", "test", PLAIN_GLOBALS)
    with pytest.raises(FileFormatError, match="mem: test, byte 2: .*not an integer"):
        unpickle(b"\x80\x02I1" + b"9" * 5000 + b"\n.", "mem", "test", PLAIN_GLOBALS)


# --- fuzzing -------------------------------------------------------------------------------------

def test_fuzz_load_pth(tmp_path):
    base = torch.arange(12, dtype=torch.float32)
    sd = {"w": base.view(3, 4), "t": base.view(3, 4).t(), "n": base[2:7], "i": torch.tensor([1, -2], dtype=torch.int64),
          "s": torch.tensor(0.5, dtype=torch.bfloat16), "b": torch.tensor([True, False])}
    files = [
        save(sd, tmp_path / "fz.pth"),
        save({"model": sd, "epoch": 3}, tmp_path / "fz_legacy.pth", _use_new_zipfile_serialization=False),
    ]
    legacy_tar_sample(tmp_path / "fz_tar.pth")
    files.append(tmp_path / "fz_tar.pth")
    for f in files:
        assert len(ember.io.load_pth(f)) >= 4
    start = time.perf_counter()
    summary = fuzz_reader("ember.io.load_pth(path)", files, 2000, tmp_path)
    assert time.perf_counter() - start < 60
    assert summary["loaded"] > 0 and summary["rejected"] > 0


def test_fuzz_load_pth_object(tmp_path):
    obj = {"a": [torch.ones(2), (1, 2.5, "x")], "b": {"c": {1, 2}, "d": b"raw", "e": None, "f": torch.arange(3)}}
    files = [save(obj, tmp_path / "o.pth"), save(obj, tmp_path / "ol.pth", _use_new_zipfile_serialization=False)]
    fuzz_reader("ember.io.load_pth_object(path)", files, 1000, tmp_path, seed=1)


@pytest.mark.parametrize("protocol", [1, 2])
def test_load_recognises_legacy_files_by_content(tmp_path, protocol):
    path = tmp_path / "legacy.weights"
    torch.save({"a": torch.arange(4.0)}, path, _use_new_zipfile_serialization=False, pickle_protocol=protocol)
    assert ember.io.load(path)["a"].tolist() == [0.0, 1.0, 2.0, 3.0]
