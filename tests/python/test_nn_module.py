"""ember.nn's base: Module (registration, traversal, state_dict / load_state_dict, to), the
containers, no_init, and Linear / Embedding / LayerNorm / RMSNorm against torch.nn."""

import re

import ember
import numpy as np
import pytest
from conftest import rng_for
from ember import nn
from ember.nn import CheckpointMismatchError
from nn_testing import (  # noqa: F401
    DTYPES,
    TOL,
    check,
    edt,
    load_from_torch,
    make_input,
    tdt,
    to_ember,
)

torch = pytest.importorskip("torch")

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.Linear(4, 4)
        self.norm = nn.LayerNorm(4)
        self.scale = 2.0  # a plain attribute
        self.register_buffer("steps", ember.zeros(3, dtype=ember.int64))
        self.register_buffer("table", ember.ones(2, 4), persistent=False)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.layers = nn.ModuleList([Block(), Block()])
        self.head = nn.Linear(4, 10, bias=False)
        self.head.weight = self.embed.weight  # tied


NET_PARAMS = ["embed.weight", "layers.0.attn.weight", "layers.0.attn.bias", "layers.0.norm.weight",
              "layers.0.norm.bias", "layers.1.attn.weight", "layers.1.attn.bias", "layers.1.norm.weight",
              "layers.1.norm.bias"]


# ---------------------------------------------------------------------------------------------
# registration and traversal


def test_attribute_registration():
    b = Block()
    assert list(b._parameters) == []
    assert list(b._modules) == ["attn", "norm"]
    assert list(b._buffers) == ["steps", "table"]
    assert b.scale == 2.0 and "scale" not in b._parameters
    t = ember.zeros(2)
    b.extra = t
    assert b._parameters["extra"] is t and b.extra is t
    b.extra = nn.ReLU()  # a name changes kind: it leaves the other registry
    assert "extra" not in b._parameters and isinstance(b._modules["extra"], nn.ReLU)
    b.extra = 3
    assert "extra" not in b._modules and b.extra == 3
    del b.attn
    assert "attn" not in b._modules
    with pytest.raises(AttributeError, match="no attribute 'attn'"):
        b.attn  # noqa: B018
    assert "norm" in dir(b)


def test_init_must_come_first():
    class Bad(nn.Module):
        def __init__(self):
            self.w = ember.zeros(2)
            super().__init__()

    with pytest.raises(AttributeError, match="super"):
        Bad()


def test_none_and_buffer_reassignment_keep_their_slots():
    lin = nn.Linear(3, 2)
    lin.bias = None
    assert "bias" in lin._parameters and lin.bias is None
    assert lin(ember.zeros(1, 3)).shape == (1, 2)
    assert list(lin.state_dict()) == ["weight"]
    b = Block()
    b.table = ember.zeros(2, 4)  # still a non-persistent buffer
    assert "table" in b._buffers and "table" not in b._parameters
    assert "table" not in b.state_dict()
    b.steps = None
    assert "steps" in b._buffers and "steps" not in b.state_dict()


def test_register_errors():
    m = nn.Module()
    with pytest.raises(TypeError):
        m.register_parameter("w", np.zeros(2))
    with pytest.raises(TypeError):
        m.register_buffer("b", [1, 2])
    with pytest.raises(TypeError):
        m.register_module("m", ember.zeros(2))


def test_named_members_order_and_tied_tensors():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == NET_PARAMS  # head.weight is embed.weight: listed once
    assert len(list(net.parameters())) == len(NET_PARAMS)
    assert [n for n, _ in net.named_buffers()] == ["layers.0.steps", "layers.0.table", "layers.1.steps",
                                                   "layers.1.table"]
    assert [n for n, _ in net.named_modules()] == ["", "embed", "layers", "layers.0", "layers.0.attn",
                                                   "layers.0.norm", "layers.1", "layers.1.attn", "layers.1.norm",
                                                   "head"]
    assert [n for n, _ in net.named_children()] == ["embed", "layers", "head"]
    assert [n for n, _ in net.layers[0].named_parameters(prefix="layers.0")][:1] == ["layers.0.attn.weight"]
    assert [n for n, _ in net.layers[0].named_parameters(recurse=False)] == []
    assert net.get_submodule("layers.1.norm") is net.layers[1].norm
    with pytest.raises(AttributeError, match="nope"):
        net.get_submodule("layers.nope")
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen.count("Linear") == 3


def test_state_dict_names_tied_and_non_persistent():
    net = Net()
    sd = net.state_dict()
    want = NET_PARAMS[:5] + ["layers.0.steps"] + NET_PARAMS[5:] + ["layers.1.steps", "head.weight"]
    assert sorted(sd) == sorted(want)
    assert sd["head.weight"] is sd["embed.weight"]
    assert all("table" not in k for k in sd)
    # a module's own tensors come before its children's, as in torch
    assert list(net.layers[0].state_dict(prefix="x.")) == ["x.steps", "x.attn.weight", "x.attn.bias",
                                                           "x.norm.weight", "x.norm.bias"]


def test_shared_submodule_in_state_dict_under_both_names_like_torch():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    tseq = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
    tseq.append(tseq[0])
    assert list(seq.state_dict()) == list(tseq.state_dict())
    assert len(list(seq.parameters())) == 2
    assert seq.load_state_dict(seq.state_dict()) == ([], [])


# ---------------------------------------------------------------------------------------------
# load_state_dict


def test_load_state_dict_round_trip_by_reference():
    src, dst = Net(), Net()
    sd = src.state_dict()
    assert dst.load_state_dict(sd) == ([], [])
    for name, t in dst.state_dict().items():
        assert t.data_ptr() == sd[name].data_ptr(), name
    assert dst.layers[1].attn.weight is sd["layers.1.attn.weight"]
    x = ember.tensor([[1, 2, 3]])
    h = src.embed(x)
    for block in src.layers:
        h = block.norm(block.attn(h))
    h2 = dst.embed(x)
    for block in dst.layers:
        h2 = block.norm(block.attn(h2))
    assert np.array_equal(h.numpy(), h2.numpy())


def test_load_state_dict_from_numpy_shares_memory():
    lin = nn.Linear(3, 2)
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    lin.load_state_dict({"weight": ember.from_numpy(w), "bias": ember.zeros(2)})
    w[0, 0] = 100.0
    assert lin(ember.tensor([[1.0, 0.0, 0.0]])).numpy()[0, 0] == 100.0


def test_load_state_dict_casts_floats_to_module_dtype():
    ln = nn.LayerNorm(4, dtype=ember.float16)
    ln.load_state_dict({"weight": ember.ones(4), "bias": ember.zeros(4)})
    assert ln.weight.dtype == ember.float16 and ln.bias.dtype == ember.float16


def test_load_state_dict_strict_lists_everything():
    net = Net()
    sd = dict(net.state_dict())
    del sd["layers.0.attn.bias"]
    del sd["head.weight"]
    sd["layers.1.norm.weight"] = ember.ones(5)
    sd["layers.0.attn.bais"] = ember.zeros(4)
    sd["extra"] = ember.zeros(1)
    with pytest.raises(CheckpointMismatchError) as err:
        net.load_state_dict(sd)
    e = err.value
    assert set(e.missing) == {"layers.0.attn.bias", "head.weight"}
    assert e.missing["layers.0.attn.bias"] == (4,)
    assert e.mismatched == {"layers.1.norm.weight": ((4,), (5,))}
    assert e.unexpected == ["extra", "layers.0.attn.bais"]
    msg = str(e)
    for name in ("layers.0.attn.bias", "head.weight", "layers.1.norm.weight", "extra"):
        assert name in msg
    assert "close unexpected name: layers.0.attn.bais" in msg


def test_load_state_dict_not_strict():
    net = Net()
    sd = {k: v for k, v in net.state_dict().items() if k != "head.weight"}
    sd["rotary.inv_freq"] = ember.zeros(2)
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["head.weight"] and unexpected == ["rotary.inv_freq"]
    sd["embed.weight"] = ember.zeros(3, 4)  # a wrong shape is an error even when not strict (as torch)
    with pytest.raises(CheckpointMismatchError, match="embed.weight"):
        net.load_state_dict(sd, strict=False)


def test_load_state_dict_rejects_non_tensors():
    with pytest.raises(TypeError, match="weight"):
        nn.Linear(2, 2).load_state_dict({"weight": np.zeros((2, 2), np.float32), "bias": ember.zeros(2)})


def test_qtensor_weights_where_accepted():
    w = ember.randn(8, 64)
    q = ember.quantize(w, "q8_0")
    lin = nn.Linear(64, 8)
    lin.load_state_dict({"weight": q, "bias": ember.zeros(8)})
    assert lin.weight is q and "qtype=q8_0" in repr(lin)
    emb = nn.Embedding(8, 64)
    emb.load_state_dict({"weight": q})
    ids = ember.tensor([[0, 7], [3, 3]])
    assert np.array_equal(emb(ids).numpy(), ember.qembedding(ids, q).numpy())


def test_qtensor_refused_by_norms():
    # a QTensor is at least 2-D, so the norms get (1, 32) slots for the shapes to match
    q = ember.quantize(ember.ones(1, 32), "q8_0")

    class Norm2D(nn.LayerNorm):
        pass

    norm = Norm2D(32)
    norm.weight = ember.ones(1, 32)
    with pytest.raises(TypeError, match=r"quantized tensor \(q8_0\).*Norm2D"):
        norm.load_state_dict({"weight": q, "bias": ember.zeros(32)})
    rms = nn.RMSNorm(32)
    rms.weight = ember.ones(1, 32)
    with pytest.raises(TypeError, match="RMSNorm cannot use quantized"):
        rms.load_state_dict({"weight": q})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("qtype", ["q8_0", "q4_0", "q4_k"])
def test_linear_qtensor_matches_qmatmul(qtype, dtype):
    rng = rng_for("qlin", qtype, dtype)
    w = ember.from_numpy(rng.standard_normal((16, 256)).astype(np.float32))
    b = ember.from_numpy(rng.standard_normal(16).astype(np.float32))
    q = ember.quantize(w, qtype)
    lin = nn.Linear.from_weights(q, b)
    x = ember.from_numpy(rng.standard_normal((2, 3, 256)).astype(np.float32)).to(edt(dtype))
    y = lin(x)
    assert y.dtype == edt(dtype) and y.shape == (2, 3, 16)
    ref = ember.qmatmul(x, q).to(ember.float32) + b
    rtol, atol = TOL[dtype]
    np.testing.assert_allclose(y.to(ember.float32).numpy(), ref.numpy(), rtol=rtol, atol=atol * 10)
    nobias = nn.Linear.from_weights(q)
    assert np.array_equal(nobias(x).numpy(), ember.qmatmul(x, q).numpy())


# ---------------------------------------------------------------------------------------------
# to(), no_init


def test_to_casts_floats_only():
    net = Net()
    q = ember.quantize(ember.randn(4, 32), "q4_0")
    net.layers[0].attn.weight = ember.zeros(4, 4)
    net.layers[1].qw = q
    assert net.half() is net
    for name, t in net.state_dict().items():
        if name.endswith("steps"):
            assert t.dtype == ember.int64, name
        elif name.endswith("qw"):
            assert t is q
        else:
            assert t.dtype == ember.float16, name
    assert net.layers[0].table.dtype == ember.float16  # non-persistent buffers are converted too
    assert net.head.weight is net.embed.weight  # still tied
    net.to(dtype=ember.bfloat16)
    assert net.embed.weight.dtype == ember.bfloat16
    net.to(ember.float32)
    assert net.embed.weight.dtype == ember.float32
    net.to("cpu")
    with pytest.raises(TypeError, match="floating-point"):
        net.to(dtype=ember.int32)


def test_no_init_touches_nothing(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("initialiser called inside no_init()")

    with nn.init.no_init():
        monkeypatch.setattr(ember._C, "rand", boom)
        monkeypatch.setattr(ember._C, "randn", boom)
        monkeypatch.setattr(ember._C, "full", boom)
        lin = nn.Linear(8, 4, dtype=ember.float16)
        emb = nn.Embedding(5, 3)
        ln = nn.LayerNorm(3)
        with nn.init.no_init():  # nested blocks restore the outer state
            pass
        conv = nn.Conv2d(3, 4, 3)
        assert nn.init.skipping()
        monkeypatch.undo()
    assert not nn.init.skipping()
    assert lin.weight.shape == (4, 8) and lin.weight.dtype == ember.float16 and lin.bias.shape == (4,)
    assert emb.weight.shape == (5, 3) and ln.weight.shape == (3,) and conv.weight.shape == (4, 3, 3, 3)


def test_default_init_like_torch():
    lin = nn.Linear(16, 8)
    w = np.asarray(lin.weight.numpy())
    assert np.abs(w).max() <= 0.25 and w.std() > 0.05
    assert np.array_equal(nn.LayerNorm(3).weight.numpy(), np.ones(3, np.float32))
    assert np.array_equal(nn.LayerNorm(3).bias.numpy(), np.zeros(3, np.float32))
    assert abs(float(np.asarray(nn.Embedding(100, 50).weight.numpy()).std()) - 1.0) < 0.1


# ---------------------------------------------------------------------------------------------
# repr and containers


def test_repr_tree_like_torch():
    net = nn.Sequential(nn.Linear(4, 8), nn.ModuleList([nn.LayerNorm(8), nn.RMSNorm(8, eps=1e-6)]),
                        nn.Embedding(10, 8), nn.Linear(8, 2, bias=False))
    tnet = torch.nn.Sequential(torch.nn.Linear(4, 8),
                               torch.nn.ModuleList([torch.nn.LayerNorm(8), torch.nn.RMSNorm(8, eps=1e-6)]),
                               torch.nn.Embedding(10, 8), torch.nn.Linear(8, 2, bias=False))
    assert repr(net) == _without_layer_norm_bias(repr(tnet))
    assert repr(nn.Module()) == "Module()"


def _without_layer_norm_bias(text):
    # torch >= 2.1 also prints LayerNorm's bias flag; ember prints the older form
    return re.sub(r"(LayerNorm\(.*?), bias=(True|False)\)", r"\1)", text)


def test_sequential():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c
    assert list(seq) == [a, b, c]
    head = seq[1:]
    assert isinstance(head, nn.Sequential) and list(head) == [b, c]
    assert list(head._modules) == ["1", "2"]  # slices keep their names, as torch's do
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and list(seq._modules)[-1] == "3"
    x = ember.randn(5, 2)
    assert np.allclose(seq(x).numpy(), seq[3](c(b(a(x)))).numpy())
    named = nn.Sequential({"fc": nn.Linear(2, 2), "act": nn.GELU()})
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]
    with pytest.raises(IndexError):
        seq[7]


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and layers[-1] is list(layers)[2]
    sub = layers[::2]
    assert isinstance(sub, nn.ModuleList) and len(sub) == 2 and sub[1] is layers[2]
    layers.append(nn.ReLU()).extend([nn.Tanh()])
    assert len(layers) == 5 and isinstance(layers[4], nn.Tanh)
    new = nn.Linear(2, 2)
    layers[1] = new
    assert layers[1] is new and list(layers._modules) == ["0", "1", "2", "3", "4"]
    assert [n for n, _ in layers.named_parameters()][:4] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    with pytest.raises(IndexError):
        layers[5]


def test_module_dict():
    d = nn.ModuleDict({"q": nn.Linear(2, 2), "k": nn.Linear(2, 2, bias=False)})
    assert len(d) == 2 and list(d) == ["q", "k"] and "q" in d and "v" not in d
    d["v"] = nn.Identity()
    assert list(d.keys()) == ["q", "k", "v"] and isinstance(d["v"], nn.Identity)
    assert [type(m).__name__ for m in d.values()] == ["Linear", "Linear", "Identity"]
    assert [k for k, _ in d.items()] == ["q", "k", "v"]
    del d["k"]
    assert list(d.state_dict()) == ["q.weight", "q.bias"]


def test_identity_and_forward_errors():
    x = ember.zeros(2)
    assert nn.Identity(3, foo=1)(x) is x
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        nn.Module()(x)
    assert nn.Linear(2, 2).eval().requires_grad_(False) is not None
    with pytest.raises(NotImplementedError, match="inference only"):
        nn.Linear(2, 2).train()


# ---------------------------------------------------------------------------------------------
# layers against torch

SHAPES = [((3, 16), "contig"), ((2, 5, 16), "T"), ((2, 3, 16), "step"), ((0, 16), "contig")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape_layout", SHAPES, ids=lambda c: f"{c[0]}-{c[1]}")
@pytest.mark.parametrize("bias", [True, False])
def test_linear_vs_torch(bias, shape_layout, dtype):
    shape, layout = shape_layout
    torch.manual_seed(1)
    tm = torch.nn.Linear(16, 7, bias=bias)
    m = load_from_torch(nn.Linear(16, 7, bias=bias, dtype=edt(dtype)), tm, dtype)
    x, tx = make_input(("lin", bias), shape, dtype, layout)
    check(m(x), tm(tx), dtype)
    assert repr(m) == repr(tm)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contig", "T", "empty"])
def test_embedding_vs_torch(layout, dtype):
    torch.manual_seed(2)
    tm = torch.nn.Embedding(11, 6, padding_idx=0)
    m = load_from_torch(nn.Embedding(11, 6, padding_idx=0, dtype=edt(dtype)), tm, dtype)
    rng = rng_for("emb", layout, dtype)
    if layout == "empty":
        ids = np.zeros((2, 0), np.int64)
        x = ember.from_numpy(ids)
    else:
        ids = rng.integers(0, 11, size=(4, 3)).astype(np.int64)
        x = ember.from_numpy(ids)
        if layout == "T":
            x, ids = x.T, ids.T
            assert not x.is_contiguous()
    check(m(x), tm(torch.from_numpy(np.ascontiguousarray(ids))), dtype)
    assert repr(m) == repr(tm).replace(", padding_idx=0", "")
    out = nn.Embedding.from_weights(m.weight, output_dtype=ember.float32)(x)
    assert out.dtype == ember.float32


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape_layout", [((3, 16), "contig"), ((2, 4, 16), "T"), ((2, 3, 16), "step"),
                                          ((0, 16), "contig")], ids=lambda c: f"{c[0]}-{c[1]}")
@pytest.mark.parametrize("kind", ["affine", "no_bias", "plain", "2d"])
def test_layer_norm_vs_torch(kind, shape_layout, dtype):
    shape, layout = shape_layout
    normalized = (shape[-2], shape[-1]) if kind == "2d" else shape[-1]
    kw = {"eps": 1e-4, "elementwise_affine": kind != "plain", "bias": kind != "no_bias"}
    tm = torch.nn.LayerNorm(normalized, **kw)
    torch.manual_seed(3)
    with torch.no_grad():
        for p in tm.parameters():
            p.uniform_(0.5, 1.5)
    m = load_from_torch(nn.LayerNorm(normalized, dtype=edt(dtype), **kw), tm, dtype)
    x, tx = make_input(("ln", kind), shape, dtype, layout)
    check(m(x), tm(tx), dtype)
    assert repr(m) == _without_layer_norm_bias(repr(tm))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape_layout", [((3, 16), "contig"), ((2, 4, 16), "T"), ((2, 3, 16), "step"),
                                          ((0, 16), "contig")], ids=lambda c: f"{c[0]}-{c[1]}")
@pytest.mark.parametrize("eps", [None, 1e-6])
@pytest.mark.parametrize("affine", [True, False])
def test_rms_norm_vs_torch(affine, eps, shape_layout, dtype):
    shape, layout = shape_layout
    # torch's eps=None is the input dtype's epsilon; the float64 reference must use the same number
    ref_eps = torch.finfo(tdt(dtype)).eps if eps is None else eps
    tm = torch.nn.RMSNorm(16, eps=ref_eps, elementwise_affine=affine)
    torch.manual_seed(4)
    with torch.no_grad():
        for p in tm.parameters():
            p.uniform_(0.5, 1.5)
    m = load_from_torch(nn.RMSNorm(16, eps=eps, elementwise_affine=affine, dtype=edt(dtype)), tm, dtype)
    x, tx = make_input(("rms", affine), shape, dtype, layout)
    check(m(x), tm(tx), dtype)
    assert repr(m) == repr(torch.nn.RMSNorm(16, eps=eps, elementwise_affine=affine))
