"""ember.nn.VarBuilder: dotted names, shape checks, dtype/device conversion, the usage record and
strict() mode, on small random tensors checked against numpy."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import NP_DTYPE, assert_equal, to_ember, to_numpy

import ember
from ember.nn import CheckpointMismatchError, VarBuilder


def checkpoint(seed=0):
    """numpy arrays of a small two-layer model (float32 weights, an int64 buffer)."""
    rng = np.random.default_rng(seed)
    arrays = {
        "model.embed.weight": rng.standard_normal((10, 4)).astype(np.float32),
        "model.layers.0.attn.q.weight": rng.standard_normal((4, 4)).astype(np.float32),
        "model.layers.0.attn.q.bias": rng.standard_normal(4).astype(np.float32),
        "model.layers.1.attn.q.weight": rng.standard_normal((4, 4)).astype(np.float32),
        "model.layers.1.attn.q.bias": rng.standard_normal(4).astype(np.float32),
        "model.position_ids": np.arange(6, dtype=np.int64).reshape(1, 6),
        "lm_head.weight": rng.standard_normal((10, 4)).astype(np.float32),
    }
    return arrays


def builder(arrays=None, **kwargs):
    arrays = checkpoint() if arrays is None else arrays
    return VarBuilder({k: to_ember(v) for k, v in arrays.items()}, **kwargs), arrays


# ---------------------------------------------------------------------------------------------
# names and prefixes


def test_get_by_dotted_name_and_prefix():
    vb, a = builder()
    assert_equal(vb.get("model.embed.weight"), a["model.embed.weight"])
    layer = vb.pp("model").pp("layers.0")
    assert layer.prefix == "model.layers.0"
    assert_equal(layer.get("attn.q.weight"), a["model.layers.0.attn.q.weight"])
    assert_equal(layer.pp("attn").pp("q").get("bias"), a["model.layers.0.attn.q.bias"])
    assert_equal(vb.pp("model").pp("layers").pp(1).get("attn.q.bias"), a["model.layers.1.attn.q.bias"])
    assert vb.push_prefix("model").push_prefix("embed").prefix == "model.embed"
    assert vb.prefix == ""


def test_get_returns_the_stored_tensor_without_copy():
    vb, _ = builder()
    t = vb.get("lm_head.weight")
    assert t.data_ptr() == vb.get("lm_head.weight").data_ptr()
    assert t.dtype == ember.float32


@pytest.mark.parametrize("shape", [(10, 4), [10, 4]])
def test_shape_check_passes(shape):
    vb, a = builder()
    assert_equal(vb.get("lm_head.weight", shape=shape), a["lm_head.weight"])
    assert_equal(vb.pp("model.layers.0.attn.q").get("bias", shape=4), a["model.layers.0.attn.q.bias"])


def test_wrong_shape_names_the_full_name_and_both_shapes():
    vb, _ = builder()
    with pytest.raises(CheckpointMismatchError) as info:
        vb.pp("model").pp("layers.1").get("attn.q.weight", shape=(4, 8))
    err = info.value
    assert isinstance(err, ValueError)
    assert str(err) == "model.layers.1.attn.q.weight: the model expects shape (4, 8), the checkpoint has (4, 4)"
    assert err.mismatched == {"model.layers.1.attn.q.weight": ((4, 8), (4, 4))}
    assert err.missing == {} and err.unexpected == []
    with pytest.raises(CheckpointMismatchError, match=r"expects shape \(5,\), the checkpoint has \(4,\)"):
        vb.get("model.layers.1.attn.q.bias", shape=5)
    assert "model.layers.1.attn.q.weight" in vb.unused(), "a tensor that was refused is not used"


def test_missing_name_suggests_close_names():
    vb, _ = builder()
    with pytest.raises(KeyError) as info:
        vb.pp("model.layers.0").get("attn.q.weigth")
    message = info.value.args[0]
    assert "'model.layers.0.attn.q.weigth'" in message
    assert "close names: 'model.layers.0.attn.q.weight'" in message
    suggested = message.split("close names: ")[1].split(", ")
    assert 1 <= len(suggested) <= 3
    assert all(s.strip("'") in vb.keys() for s in suggested)


def test_missing_name_suggests_at_most_three():
    arrays = {f"layer.{i}.weight": np.zeros(2, np.float32) for i in range(10)}
    vb, _ = builder(arrays)
    with pytest.raises(KeyError) as info:
        vb.get("layer.1.weights")
    suggested = info.value.args[0].split("close names: ")[1].split(", ")
    assert len(suggested) == 3
    assert suggested[0] == "'layer.1.weight'"


def test_missing_name_without_close_names():
    vb, _ = builder()
    with pytest.raises(KeyError, match="no tensor 'decoder.zzz' in the checkpoint .no close names among 7 tensors"):
        vb.pp("decoder").get("zzz")


def test_contains_keys_and_prefix_relative_names():
    vb, a = builder()
    assert "model.embed.weight" in vb and vb.contains("lm_head.weight")
    assert "embed.weight" not in vb
    model = vb.pp("model")
    assert "embed.weight" in model and model.contains("layers.0.attn.q.bias")
    assert "lm_head.weight" not in model
    assert "layers.0" not in model, "a prefix is not a tensor"
    assert vb.keys() == sorted(a)
    assert model.pp("layers").pp(1).keys() == ["attn.q.bias", "attn.q.weight"]
    assert model.keys() == sorted(k[len("model."):] for k in a if k.startswith("model."))
    assert vb.pp("mod").keys() == [], "prefixes match whole components"
    assert vb.pp("nothing").keys() == []


@pytest.mark.parametrize("name,error", [("", ValueError), (".a", ValueError), ("a.", ValueError),
                                        (None, TypeError), (1.5, TypeError)])
def test_invalid_names(name, error):
    vb, _ = builder()
    with pytest.raises(error):
        vb.get(name)
    with pytest.raises(error):
        vb.pp(name)


# ---------------------------------------------------------------------------------------------
# dtype and device


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64", "float32"])
def test_builder_dtype_converts_floats_only(dtype):
    vb, a = builder(dtype=getattr(ember, dtype))
    w = vb.get("model.embed.weight", shape=(10, 4))
    assert w.dtype == getattr(ember, dtype)
    assert_equal(w, a["model.embed.weight"].astype(NP_DTYPE[dtype]))
    ids = vb.get("model.position_ids")
    assert ids.dtype == ember.int64
    assert_equal(ids, a["model.position_ids"])


def test_per_call_dtype_overrides_the_builder():
    vb, a = builder(dtype=ember.float16)
    child = vb.pp("model")
    assert child.dtype == ember.float16, "children inherit dtype"
    w = child.get("embed.weight", dtype=ember.float64)
    assert w.dtype == ember.float64
    assert_equal(w, a["model.embed.weight"].astype(np.float64))
    assert child.get("embed.weight").dtype == ember.float16
    assert child.get("position_ids", dtype=ember.float32).dtype == ember.int64, "ints keep their dtype"


def test_no_dtype_keeps_the_checkpoint_dtype():
    arrays = {"h": np.ones(3, np.float16), "d": np.ones(3, np.float64)}
    vb, _ = builder(arrays)
    assert vb.get("h").dtype == ember.float16 and vb.get("d").dtype == ember.float64


def test_device_cpu_and_unavailable_device():
    vb, a = builder(device="cpu")
    assert vb.device == ember.device("cpu")
    t = vb.get("lm_head.weight", device="cpu")
    assert str(t.device) == "cpu"
    assert_equal(t, a["lm_head.weight"])
    if not ember.cuda.is_available():
        with pytest.raises(RuntimeError, match="cuda"):
            vb.get("lm_head.weight", device="cuda")
        cuda_vb = builder(device="cuda")[0]
        with pytest.raises(RuntimeError, match="cuda"):
            cuda_vb.pp("model").get("embed.weight")
        assert "model.embed.weight" in cuda_vb.unused(), "a tensor that failed to move is not used"


@pytest.mark.skipif(not ember.cuda.is_available(), reason="needs a CUDA device")
def test_device_cuda():
    vb, a = builder(dtype=ember.float16, device="cuda")
    t = vb.get("model.embed.weight")
    assert t.device.type == "cuda" and t.dtype == ember.float16
    assert_equal(t.cpu(), a["model.embed.weight"].astype(np.float16))
    assert vb.get("model.embed.weight", device="cpu").device.type == "cpu"


def test_invalid_dtype():
    with pytest.raises(TypeError, match="ember.dtype"):
        VarBuilder({}, dtype="float16")


# ---------------------------------------------------------------------------------------------
# sources


def test_shards():
    a = checkpoint()
    names = sorted(a)
    shards = [{k: to_ember(a[k]) for k in names[:3]}, {k: to_ember(a[k]) for k in names[3:]}]
    vb = VarBuilder(shards)
    assert vb.keys() == names
    for name in names:
        assert_equal(vb.get(name), a[name])
    assert vb.unused() == []


def test_a_name_in_two_shards_is_an_error():
    t = ember.zeros(2)
    with pytest.raises(ValueError, match="'x' is in both shard 0 and shard 2"):
        VarBuilder([{"x": t}, {"y": t}, {"x": t}])


@pytest.mark.parametrize("bad", [42, [{"a": ember.zeros(1)}, 42]])
def test_not_a_mapping(bad):
    with pytest.raises(TypeError, match="mapping"):
        VarBuilder(bad)


def test_value_that_is_not_a_tensor():
    vb = VarBuilder({"w": np.zeros(3)})
    with pytest.raises(TypeError, match="'w' is a ndarray, not an ember.Tensor"):
        vb.get("w")


def test_lazy_safetensors_file_as_source(tmp_path):
    from safetensors.numpy import save_file

    a = checkpoint()
    save_file(a, str(tmp_path / "model.safetensors"))
    vb = VarBuilder(ember.io.SafetensorsFile(tmp_path / "model.safetensors"), dtype=ember.float16)
    assert vb.keys() == sorted(a)
    assert_equal(vb.pp("model").get("embed.weight", (10, 4)), a["model.embed.weight"].astype(np.float16))
    assert_equal(vb.get("model.position_ids"), a["model.position_ids"])


# ---------------------------------------------------------------------------------------------
# from_files


def _save_shards(tmp_path, arrays):
    from safetensors.numpy import save_file

    names = sorted(arrays)
    paths = [tmp_path / "model-00001-of-00002.safetensors", tmp_path / "model-00002-of-00002.safetensors"]
    save_file({k: arrays[k] for k in names[:4]}, str(paths[0]))
    save_file({k: arrays[k] for k in names[4:]}, str(paths[1]))
    return paths


def test_from_files_single_file(tmp_path):
    from safetensors.numpy import save_file

    a = checkpoint(1)
    save_file(a, str(tmp_path / "model.safetensors"))
    vb = VarBuilder.from_files(tmp_path / "model.safetensors", dtype=ember.bfloat16)
    assert vb.keys() == sorted(a)
    for name in a:
        expected = a[name].astype(NP_DTYPE["bfloat16"]) if a[name].dtype.kind == "f" else a[name]
        assert_equal(vb.get(name, shape=a[name].shape), expected)
    assert vb.unused() == []


def test_from_files_list_and_directory(tmp_path):
    a = checkpoint(2)
    paths = _save_shards(tmp_path, a)
    for vb in (VarBuilder.from_files(paths), VarBuilder.from_files([str(p) for p in paths]),
               VarBuilder.from_files(tmp_path), VarBuilder.from_files(str(tmp_path))):
        assert vb.keys() == sorted(a)
        for name in a:
            assert_equal(vb.get(name), a[name])


def test_from_files_duplicate_names_name_the_files(tmp_path):
    from safetensors.numpy import save_file

    for f in ("a.safetensors", "b.safetensors"):
        save_file({"w": np.zeros(2, np.float32)}, str(tmp_path / f))
    with pytest.raises(ValueError, match="'w' is in both .*a.safetensors and .*b.safetensors"):
        VarBuilder.from_files([tmp_path / "a.safetensors", tmp_path / "b.safetensors"])


def test_from_files_needs_a_path():
    with pytest.raises(ValueError, match="no paths"):
        VarBuilder.from_files([])


# ---------------------------------------------------------------------------------------------
# the usage record


def test_unused_is_shared_by_children_and_limited_to_the_prefix():
    vb, a = builder()
    assert vb.unused() == sorted(a)
    layer0 = vb.pp("model.layers.0")
    layer0.get("attn.q.weight")
    vb.pp("model").pp("layers").pp(0).pp("attn").get("q.bias")
    assert layer0.unused() == []
    assert vb.pp("model.layers").unused() == ["model.layers.1.attn.q.bias", "model.layers.1.attn.q.weight"]
    assert vb.unused() == sorted(set(a) - {"model.layers.0.attn.q.weight", "model.layers.0.attn.q.bias"})


def test_get_or_none():
    vb, a = builder()
    assert vb.get_or_none("model.layers.0.attn.k.bias") is None
    assert_equal(vb.pp("model.layers.0").get_or_none("attn.q.bias", shape=4), a["model.layers.0.attn.q.bias"])
    assert "model.layers.0.attn.q.bias" not in vb.unused()
    with pytest.raises(CheckpointMismatchError):
        vb.get_or_none("lm_head.weight", shape=(4, 10))


# ---------------------------------------------------------------------------------------------
# strict()


def test_strict_passes_when_everything_is_used():
    vb, a = builder()
    with vb.strict() as inside:
        assert inside is vb
        for name in a:
            vb.get(name, shape=a[name].shape)


def test_strict_collects_every_mismatch():
    vb, a = builder(dtype=ember.float16)
    placeholders = {}
    with pytest.raises(CheckpointMismatchError) as info:
        with vb.strict():
            model = vb.pp("model")
            model.get("embed.weight", shape=(10, 4))
            placeholders["k"] = model.pp("layers.0").get("attn.k.weight", shape=(4, 4))
            placeholders["k32"] = model.pp("layers.0").get("attn.k.bias", shape=4, dtype=ember.float32)
            placeholders["q"] = model.pp("layers.1").get("attn.q.weight", shape=(4, 8))
            placeholders["ids"] = model.get("position_ids", shape=(6,))
            model.get("layers.0.attn.q.weight", shape=(4, 4))
    err = info.value
    assert err.missing == {"model.layers.0.attn.k.weight": (4, 4), "model.layers.0.attn.k.bias": (4,)}
    assert err.mismatched == {"model.layers.1.attn.q.weight": ((4, 8), (4, 4)),
                              "model.position_ids": ((6,), (1, 6))}
    assert err.unexpected == ["lm_head.weight", "model.layers.0.attn.q.bias", "model.layers.1.attn.q.bias"]
    message = str(err)
    assert message.startswith("the checkpoint does not match the model: 2 missing, 2 with the wrong shape, "
                              "3 unexpected")
    for line in ("model.layers.0.attn.k.weight: (4, 4)", "model.layers.0.attn.k.bias: (4,)",
                 "model.layers.1.attn.q.weight: (4, 8), checkpoint (4, 4)",
                 "model.position_ids: (6,), checkpoint (1, 6)",
                 "    lm_head.weight", "    model.layers.1.attn.q.bias"):
        assert line in message, (line, message)
    assert "close unexpected name: model.layers.0.attn.q.bias" in message

    # Placeholders: zeros of the expected shape that allocate nothing, in the requested dtype.
    for key, shape, dtype in [("k", (4, 4), ember.float16), ("k32", (4,), ember.float32),
                              ("q", (4, 8), ember.float16), ("ids", (6,), ember.int64)]:
        t = placeholders[key]
        assert t.shape == shape and t.dtype == dtype, key
        assert all(s == 0 for s in t.stride()), key
        assert not to_numpy(t).any(), key


def test_placeholder_default_dtype_is_float32():
    vb, _ = builder()
    with pytest.raises(CheckpointMismatchError):
        with vb.strict():
            t = vb.get("nope", shape=(2, 3))
    assert t.dtype == ember.float32 and t.shape == (2, 3)


def test_strict_without_shape_raises_at_once():
    vb, _ = builder()
    with pytest.raises(KeyError, match="pass shape="):
        with vb.strict():
            vb.get("model.missing")


def test_exception_inside_strict_propagates_unchanged():
    vb, _ = builder()
    boom = RuntimeError("model code failed")
    with pytest.raises(RuntimeError) as info:
        with vb.strict():
            vb.get("model.missing", shape=(3,))
            raise boom
    assert info.value is boom
    assert info.value.__context__ is None


def test_no_placeholders_outside_strict():
    vb, _ = builder()
    with pytest.raises(CheckpointMismatchError):
        with vb.strict():
            vb.get("model.missing", shape=(3,))
    with pytest.raises(KeyError):
        vb.get("model.missing", shape=(3,))
    with pytest.raises(CheckpointMismatchError):
        vb.get("lm_head.weight", shape=(3,))


def test_strict_on_a_child_reports_unexpected_names_under_its_prefix():
    vb, _ = builder()
    layer = vb.pp("model.layers.1")
    with pytest.raises(CheckpointMismatchError) as info:
        with layer.strict():
            layer.get("attn.q.weight", shape=(4, 4))
    assert info.value.unexpected == ["model.layers.1.attn.q.bias"]
    assert info.value.missing == {} and info.value.mismatched == {}


def test_names_used_before_the_block_are_not_unexpected():
    vb, a = builder()
    for name in a:
        if name != "lm_head.weight":
            vb.get(name)
    with pytest.raises(CheckpointMismatchError) as info:
        with vb.strict():
            pass
    assert info.value.unexpected == ["lm_head.weight"]


def test_nested_strict_blocks_each_report_their_own():
    vb, a = builder()
    with pytest.raises(CheckpointMismatchError) as outer:
        with vb.strict():
            for name in a:
                vb.get(name)
            with pytest.raises(CheckpointMismatchError) as inner:
                with vb.strict():
                    vb.get("inner.missing", shape=(1,))
            vb.get("outer.missing", shape=(2,))
    assert inner.value.missing == {"inner.missing": (1,)}
    assert outer.value.missing == {"inner.missing": (1,), "outer.missing": (2,)}
    assert outer.value.unexpected == []


def test_get_or_none_inside_strict_is_not_missing():
    vb, a = builder()
    with vb.strict():
        assert vb.get_or_none("model.layers.0.attn.k.bias", shape=4) is None
        for name in a:
            vb.get(name)


def test_long_lists_are_cut_in_the_message():
    arrays = {f"unused.{i:02d}": np.zeros(1, np.float32) for i in range(25)}
    vb, _ = builder(arrays)
    with pytest.raises(CheckpointMismatchError) as info:
        with vb.strict():
            pass
    assert len(info.value.unexpected) == 25
    message = str(info.value)
    assert "unused.19" in message and "unused.20" not in message
    assert "... and 5 more" in message


def test_checkpoint_mismatch_error_is_a_value_error():
    err = CheckpointMismatchError(missing={"a": (1,)}, unexpected=["b"])
    assert isinstance(err, ValueError)
    assert err.missing == {"a": (1,)} and err.unexpected == ["b"] and err.mismatched == {}


# ---------------------------------------------------------------------------------------------


def test_import_ember_stays_lazy():
    code = ("import sys, ember; assert ember.nn.VarBuilder; "
            "assert 'ember.io' not in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
