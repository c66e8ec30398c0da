"""ember.nn layers (conv, GroupNorm, activations, pooling, resampling, shape) against torch.nn.

Each ember module gets the weights of a torch module through load_state_dict (so the parameter
names must be torch's), and runs on the same input. The reference is the torch module in float64
with the weights and inputs rounded to the tested dtype, so f16/bf16 results are judged against the
exact function of what ember actually saw.
"""

import ember
import numpy as np
import pytest
from ember import nn
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
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

# ---------------------------------------------------------------------------------------------
# convolutions

CONV2D_CASES = [
    # (in, out, kernel, kwargs, input spatial, batch, layout)
    (3, 5, 3, {}, (7, 8), 2, "contig"),
    (4, 6, (3, 2), {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2), "groups": 2}, (9, 7), 3, "T"),
    (4, 8, 3, {"padding": "same", "dilation": 2, "groups": 4, "bias": False}, (6, 7), 1, "step"),
    (3, 4, 2, {"padding": "same"}, (5, 6), 2, "contig"),
    (3, 4, 3, {"padding": "valid", "stride": 2}, (8, 9), 2, "contig"),
    (2, 3, 3, {"padding": 1, "padding_mode": "reflect"}, (5, 6), 2, "T"),
    (2, 3, (3, 2), {"padding": (2, 1), "padding_mode": "replicate"}, (5, 4), 1, "contig"),
    (2, 4, 3, {"padding": "same", "padding_mode": "circular", "dilation": 2}, (7, 6), 2, "step"),
    (3, 4, 3, {"padding": 1}, (5, 5), 0, "contig"),  # empty batch
    (3, 4, 3, {"padding": 1}, (5, 6), None, "contig"),  # unbatched (C, H, W)
    (6, 6, 3, {"padding": 1, "groups": 6}, (4, 5), 2, "contig"),  # depthwise
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(CONV2D_CASES)))
def test_conv2d(case, dtype):
    cin, cout, k, kw, spatial, n, layout = CONV2D_CASES[case]
    torch.manual_seed(case)
    tm = torch.nn.Conv2d(cin, cout, k, **kw)
    m = load_from_torch(nn.Conv2d(cin, cout, k, dtype=edt(dtype), **kw), tm, dtype)
    shape = ((n,) if n is not None else ()) + (cin,) + spatial
    x, tx = make_input(("conv2d", case), shape, dtype, layout)
    check(m(x), tm(tx), dtype, repr(m))


CONV1D_CASES = [
    (3, 5, 3, {}, 10, 2, "contig"),
    (4, 6, 4, {"stride": 3, "padding": 2, "dilation": 2, "groups": 2}, 17, 3, "T"),
    (4, 4, 3, {"padding": "same", "groups": 4, "bias": False}, 9, 2, "step"),
    (2, 3, 4, {"padding": "same", "dilation": 3}, 11, 1, "contig"),
    (2, 3, 3, {"padding": 2, "padding_mode": "reflect"}, 7, 2, "contig"),
    (2, 3, 3, {"padding": 1, "padding_mode": "replicate", "stride": 2}, 8, 2, "T"),
    (2, 3, 5, {"padding": "same", "padding_mode": "circular"}, 8, 2, "contig"),
    (3, 2, 3, {}, 6, 0, "contig"),
    (3, 2, 3, {"padding": 1}, 6, None, "contig"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(CONV1D_CASES)))
def test_conv1d(case, dtype):
    cin, cout, k, kw, length, n, layout = CONV1D_CASES[case]
    torch.manual_seed(100 + case)
    tm = torch.nn.Conv1d(cin, cout, k, **kw)
    m = load_from_torch(nn.Conv1d(cin, cout, k, dtype=edt(dtype), **kw), tm, dtype)
    shape = ((n,) if n is not None else ()) + (cin, length)
    x, tx = make_input(("conv1d", case), shape, dtype, layout)
    check(m(x), tm(tx), dtype, repr(m))


CONVT2D_CASES = [
    (3, 5, 3, {}, (4, 5), 2, "contig", None),
    (4, 6, (3, 2), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}, (5, 4), 2, "T", None),
    (4, 4, 3, {"stride": (2, 3), "dilation": 2, "groups": 4, "bias": False}, (3, 4), 1, "step", None),
    (2, 3, 3, {"stride": 2, "padding": 1}, (5, 5), 2, "contig", (10, 10)),
    (2, 3, 3, {"stride": 2}, (3, 4), 0, "contig", None),
    (2, 3, 3, {"stride": 2}, (3, 4), None, "contig", None),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(CONVT2D_CASES)))
def test_conv_transpose2d(case, dtype):
    cin, cout, k, kw, spatial, n, layout, output_size = CONVT2D_CASES[case]
    torch.manual_seed(200 + case)
    tm = torch.nn.ConvTranspose2d(cin, cout, k, **kw)
    m = load_from_torch(nn.ConvTranspose2d(cin, cout, k, dtype=edt(dtype), **kw), tm, dtype)
    shape = ((n,) if n is not None else ()) + (cin,) + spatial
    x, tx = make_input(("convT2d", case), shape, dtype, layout)
    check(m(x, output_size=output_size), tm(tx, output_size=output_size), dtype, repr(m))


CONVT1D_CASES = [
    (3, 5, 3, {}, 6, 2, "contig", None),
    (4, 6, 4, {"stride": 3, "padding": 2, "output_padding": 2, "groups": 2, "dilation": 1}, 7, 2, "T", None),
    (2, 2, 3, {"stride": 2, "dilation": 2, "groups": 2, "bias": False}, 5, 1, "step", None),
    (2, 3, 3, {"stride": 3, "padding": 1}, 5, 2, "contig", [2, 3, 15]),
    (2, 3, 3, {}, 5, 0, "contig", None),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(CONVT1D_CASES)))
def test_conv_transpose1d(case, dtype):
    cin, cout, k, kw, length, n, layout, output_size = CONVT1D_CASES[case]
    torch.manual_seed(300 + case)
    tm = torch.nn.ConvTranspose1d(cin, cout, k, **kw)
    m = load_from_torch(nn.ConvTranspose1d(cin, cout, k, dtype=edt(dtype), **kw), tm, dtype)
    shape = ((n,) if n is not None else ()) + (cin, length)
    x, tx = make_input(("convT1d", case), shape, dtype, layout)
    check(m(x, output_size=output_size), tm(tx, output_size=output_size), dtype, repr(m))


def test_conv_parameters_like_torch():
    for cls, tcls, args, kw in [
        (nn.Conv2d, torch.nn.Conv2d, (4, 6, (3, 2)), {"groups": 2}),
        (nn.Conv1d, torch.nn.Conv1d, (4, 6, 5), {"bias": False}),
        (nn.ConvTranspose2d, torch.nn.ConvTranspose2d, (4, 6, 3), {"groups": 2}),
        (nn.ConvTranspose1d, torch.nn.ConvTranspose1d, (6, 4, 3), {}),
    ]:
        m, tm = cls(*args, **kw), tcls(*args, **kw)
        assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == {
            k: tuple(v.shape) for k, v in tm.state_dict().items()}
        # torch's default init: uniform in +-1/sqrt(fan_in)
        fan_in = tm.weight.shape[1] * int(np.prod(tm.weight.shape[2:]))
        w = np.asarray(m.weight.numpy())
        assert np.abs(w).max() <= 1 / np.sqrt(fan_in) and w.std() > 0
        assert repr(m) == repr(tm)


def test_conv_repr_like_torch():
    for kw in [{"padding": "same", "dilation": 2}, {"padding": 1, "padding_mode": "reflect", "bias": False}, {"stride": 2}]:
        assert repr(nn.Conv2d(3, 4, 3, **kw)) == repr(torch.nn.Conv2d(3, 4, 3, **kw))
    kw = {"stride": 2, "output_padding": 1, "groups": 2}
    assert repr(nn.ConvTranspose1d(4, 4, 3, **kw)) == repr(torch.nn.ConvTranspose1d(4, 4, 3, **kw))


def test_conv_bad_arguments():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.ConvTranspose1d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv1d(3, 4, 3, padding="same", stride=2)
    with pytest.raises(ValueError, match="'full'"):
        nn.Conv2d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match="'mirror'"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="'reflect'"):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(TypeError, match="'same'"):
        nn.ConvTranspose2d(3, 4, 3, padding="same")
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2d(3, 4, (3, 3, 3))
    m = nn.ConvTranspose2d(2, 2, 3, stride=2)
    with pytest.raises(ValueError, match="output size"):
        m(ember.zeros(1, 2, 4, 4), output_size=(20, 20))
    with pytest.raises(ValueError):  # wrong number of input channels: the op's error
        nn.Conv2d(3, 4, 3)(ember.zeros(1, 2, 5, 5))


def test_conv_no_init_and_to():
    with nn.init.no_init():
        m = nn.Conv2d(3, 4, 3)
    assert m.weight.shape == (4, 3, 3, 3) and m.bias.shape == (4,)
    m = nn.Conv2d(3, 4, 3).to(dtype=ember.bfloat16)
    assert m.weight.dtype == ember.bfloat16
    assert m(ember.zeros(1, 3, 4, 4, dtype=ember.bfloat16)).dtype == ember.bfloat16


# ---------------------------------------------------------------------------------------------
# GroupNorm


GROUPNORM_CASES = [
    (2, 4, True, (3, 4), "contig"),
    (3, 6, True, (2, 6, 7), "T"),
    (1, 5, False, (2, 5, 3, 4), "step"),
    (4, 8, True, (2, 8, 5, 6), "T"),
    (8, 8, True, (0, 8, 3), "contig"),
    (2, 6, "no bias", (3, 6, 5), "T"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(GROUPNORM_CASES)))
def test_group_norm(case, dtype):
    groups, channels, affine, shape, layout = GROUPNORM_CASES[case]
    kw = {"eps": 1e-4, "affine": bool(affine), "bias": affine is True}
    tm = torch.nn.GroupNorm(groups, channels, **kw)
    torch.manual_seed(case)
    with torch.no_grad():
        for p in tm.parameters():
            p.uniform_(0.5, 1.5)
    m = load_from_torch(nn.GroupNorm(groups, channels, dtype=edt(dtype), **kw), tm, dtype)
    x, tx = make_input(("gn", case), shape, dtype, layout)
    check(m(x), tm(tx), dtype, repr(m))
    assert repr(m) == repr(tm)


def test_group_norm_init_and_errors():
    m = nn.GroupNorm(2, 4)
    assert np.array_equal(m.weight.numpy(), np.ones(4, np.float32))
    assert np.array_equal(m.bias.numpy(), np.zeros(4, np.float32))
    assert list(nn.GroupNorm(2, 4, affine=False).state_dict()) == []
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)


# ---------------------------------------------------------------------------------------------
# activations

ACTIVATIONS = [
    (lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
    (lambda: nn.ReLU(inplace=True), lambda: torch.nn.ReLU()),
    (lambda: nn.ReLU6(), lambda: torch.nn.ReLU6()),
    (lambda: nn.LeakyReLU(), lambda: torch.nn.LeakyReLU()),
    (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    (lambda: nn.GELU(), lambda: torch.nn.GELU()),
    (lambda: nn.GELU(approximate="tanh"), lambda: torch.nn.GELU(approximate="tanh")),
    (lambda: nn.SiLU(), lambda: torch.nn.SiLU()),
    (lambda: nn.Mish(), lambda: torch.nn.Mish()),
    (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
    (lambda: nn.Softplus(), lambda: torch.nn.Softplus()),
    (lambda: nn.Softplus(beta=2.0, threshold=3.0), lambda: torch.nn.Softplus(beta=2.0, threshold=3.0)),
    (lambda: nn.Softmax(dim=-1), lambda: torch.nn.Softmax(dim=-1)),
    (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
    (lambda: nn.LogSoftmax(dim=-1), lambda: torch.nn.LogSoftmax(dim=-1)),
    (lambda: nn.LogSoftmax(dim=0), lambda: torch.nn.LogSoftmax(dim=0)),
    (lambda: nn.GLU(), lambda: torch.nn.GLU()),
    (lambda: nn.GLU(dim=1), lambda: torch.nn.GLU(dim=1)),
]
ACT_SHAPES = [((3, 4, 6), "contig"), ((5, 4, 8), "T"), ((2, 6, 4), "step"), ((0, 4, 6), "contig")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape_layout", ACT_SHAPES, ids=lambda c: f"{c[0]}-{c[1]}")
@pytest.mark.parametrize("case", range(len(ACTIVATIONS)))
def test_activation(case, shape_layout, dtype):
    make, tmake = ACTIVATIONS[case]
    m, tm = make(), tmake()
    shape, layout = shape_layout
    x, tx = make_input(("act", case), shape, dtype, layout, low=-6.0, high=6.0)
    check(m(x), tm(tx), dtype, repr(m))
    assert m.state_dict() == {}
    assert repr(m) == repr(tm).replace("inplace=True", "")  # torch hides inplace=False only


def test_softmax_without_dim_warns_like_torch():
    x, tx = make_input(("smx",), (3, 4, 5), "float32")
    with pytest.warns(UserWarning, match="Implicit dimension"):
        got = nn.Softmax()(x)
    with pytest.warns(UserWarning):
        ref = torch.nn.Softmax()(tx)
    check(got, ref, "float32")


def _hf_reference(name, x):
    """transformers.activations' definitions, written out in torch float64."""
    F = torch.nn.functional
    c = np.sqrt(2.0 / np.pi)
    return {
        "gelu": lambda: F.gelu(x),
        "gelu_new": lambda: 0.5 * x * (1.0 + torch.tanh(c * (x + 0.044715 * x**3))),
        "gelu_fast": lambda: 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))),
        "gelu_pytorch_tanh": lambda: F.gelu(x, approximate="tanh"),
        "quick_gelu": lambda: x * torch.sigmoid(1.702 * x),
        "relu": lambda: F.relu(x),
        "relu6": lambda: F.relu6(x),
        "leaky_relu": lambda: F.leaky_relu(x),
        "silu": lambda: F.silu(x),
        "swish": lambda: F.silu(x),
        "mish": lambda: F.mish(x),
        "sigmoid": lambda: torch.sigmoid(x),
        "tanh": lambda: torch.tanh(x),
        "linear": lambda: x,
    }[name]()


HF_NAMES = ["gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "quick_gelu", "relu", "relu6", "leaky_relu", "silu",
            "swish", "mish", "sigmoid", "tanh", "linear"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", HF_NAMES)
def test_get_activation(name, dtype):
    act = nn.get_activation(name)
    assert isinstance(act, nn.Module)
    assert name in nn.ACT2FN and type(nn.ACT2FN[name]) is type(act)
    x, tx = make_input(("hf", name), (4, 33), dtype, "T", low=-6.0, high=6.0)
    check(act(x), _hf_reference(name, tx), dtype, name)
    assert set(nn.ACT2FN.keys()) == set(HF_NAMES)


def test_get_activation_unknown():
    with pytest.raises(ValueError, match="'gelu_11'"):
        nn.get_activation("gelu_11")
    with pytest.raises(ValueError, match="unknown activation"):
        nn.ACT2FN["prelu"]
    assert "prelu" not in nn.ACT2FN
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU(approximate="fast")


# ---------------------------------------------------------------------------------------------
# pooling, resampling, shape

POOL_CASES = [
    (lambda: nn.MaxPool2d(2), lambda: torch.nn.MaxPool2d(2), (2, 3, 6, 7)),
    (lambda: nn.MaxPool2d((3, 2), stride=(1, 2), padding=1, dilation=(1, 2), ceil_mode=True),
     lambda: torch.nn.MaxPool2d((3, 2), stride=(1, 2), padding=1, dilation=(1, 2), ceil_mode=True), (2, 3, 7, 9)),
    (lambda: nn.MaxPool2d(3, stride=2), lambda: torch.nn.MaxPool2d(3, stride=2), (3, 5, 8)),
    (lambda: nn.MaxPool1d(3, stride=2, padding=1), lambda: torch.nn.MaxPool1d(3, stride=2, padding=1), (2, 3, 11)),
    (lambda: nn.MaxPool1d(2, dilation=2, ceil_mode=True), lambda: torch.nn.MaxPool1d(2, dilation=2, ceil_mode=True),
     (2, 4, 9)),
    (lambda: nn.AvgPool2d(2), lambda: torch.nn.AvgPool2d(2), (2, 3, 6, 7)),
    (lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False, ceil_mode=True),
     lambda: torch.nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False, ceil_mode=True), (2, 3, 7, 8)),
    (lambda: nn.AvgPool2d(2, divisor_override=3), lambda: torch.nn.AvgPool2d(2, divisor_override=3), (1, 2, 4, 6)),
    (lambda: nn.AvgPool1d(3, stride=1, padding=1), lambda: torch.nn.AvgPool1d(3, stride=1, padding=1), (2, 3, 8)),
    (lambda: nn.AdaptiveAvgPool2d((3, 4)), lambda: torch.nn.AdaptiveAvgPool2d((3, 4)), (2, 3, 7, 9)),
    (lambda: nn.AdaptiveAvgPool2d(1), lambda: torch.nn.AdaptiveAvgPool2d(1), (2, 5, 6, 6)),
    (lambda: nn.AdaptiveAvgPool2d((None, 2)), lambda: torch.nn.AdaptiveAvgPool2d((None, 2)), (2, 3, 5, 7)),
    (lambda: nn.AdaptiveAvgPool1d(4), lambda: torch.nn.AdaptiveAvgPool1d(4), (2, 3, 11)),
    (lambda: nn.Upsample(scale_factor=2), lambda: torch.nn.Upsample(scale_factor=2), (2, 3, 4, 5)),
    (lambda: nn.Upsample(size=(7, 9), mode="nearest-exact"), lambda: torch.nn.Upsample(size=(7, 9), mode="nearest-exact"),
     (2, 3, 4, 5)),
    (lambda: nn.Upsample(scale_factor=1.5, mode="bilinear"), lambda: torch.nn.Upsample(scale_factor=1.5, mode="bilinear"),
     (2, 3, 4, 6)),
    (lambda: nn.Upsample(size=(8, 3), mode="bilinear", align_corners=True),
     lambda: torch.nn.Upsample(size=(8, 3), mode="bilinear", align_corners=True), (1, 2, 5, 6)),
    (lambda: nn.Upsample(scale_factor=3, mode="linear"), lambda: torch.nn.Upsample(scale_factor=3, mode="linear"),
     (2, 3, 5)),
    (lambda: nn.Upsample(size=(3, 2), mode="area"), lambda: torch.nn.Upsample(size=(3, 2), mode="area"), (2, 3, 7, 5)),
    (lambda: nn.Flatten(), lambda: torch.nn.Flatten(), (2, 3, 4, 5)),
    (lambda: nn.Flatten(0, 2), lambda: torch.nn.Flatten(0, 2), (2, 3, 4, 5)),
    (lambda: nn.Dropout(0.3), lambda: torch.nn.Dropout(0.3).eval(), (2, 3, 4)),
    (lambda: nn.Dropout(1.0), lambda: torch.nn.Dropout(1.0).eval(), (2, 3, 4)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contig", "T", "step"])
@pytest.mark.parametrize("case", range(len(POOL_CASES)))
def test_pooling(case, layout, dtype):
    make, tmake, shape = POOL_CASES[case]
    m, tm = make(), tmake()
    x, tx = make_input(("pool", case), shape, dtype, layout)
    check(m(x), tm(tx), dtype, repr(m))


@pytest.mark.parametrize("case", [0, 3, 5, 9, 13, 19])
def test_pooling_empty_batch(case):
    make, tmake, shape = POOL_CASES[case]
    x, tx = make_input(("pool0", case), (0,) + shape[1:], "float32")
    check(make()(x), tmake()(tx), "float32")


@pytest.mark.parametrize("cls", ["MaxPool1d", "MaxPool2d"])
def test_max_pool_return_indices(cls):
    shape = (2, 3, 9) if cls == "MaxPool1d" else (2, 3, 6, 7)
    m = getattr(nn, cls)(3, stride=2, padding=1, return_indices=True)
    tm = getattr(torch.nn, cls)(3, stride=2, padding=1, return_indices=True)
    x, tx = make_input(("idx", cls), shape, "float32", "T")
    out, idx = m(x)
    tout, tidx = tm(tx)
    check(out, tout, "float32")
    assert np.array_equal(idx.numpy(), tidx.numpy())


def test_pooling_repr_and_defaults():
    assert nn.MaxPool2d(3).stride == 3 and nn.AvgPool1d(4).stride == 4
    assert repr(nn.MaxPool2d(3, 2)) == repr(torch.nn.MaxPool2d(3, 2))
    assert repr(nn.AdaptiveAvgPool2d(1)) == repr(torch.nn.AdaptiveAvgPool2d(1))
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten())
    assert repr(nn.Dropout(0.1)) == repr(torch.nn.Dropout(0.1))
    assert repr(nn.Upsample(scale_factor=2)) == repr(torch.nn.Upsample(scale_factor=2))


def test_dropout_is_identity_and_checks_p():
    x = ember.randn(3, 4)
    assert nn.Dropout(0.9)(x) is x
    for p in (-0.1, 1.5, "0.5"):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(p)


def test_layers_compose_in_sequential():
    torch.manual_seed(7)
    tm = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.GroupNorm(2, 8), torch.nn.SiLU(), torch.nn.MaxPool2d(2),
        torch.nn.ConvTranspose2d(8, 4, 2, stride=2), torch.nn.GELU(), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Dropout(0.1), torch.nn.Linear(4, 5), torch.nn.LogSoftmax(dim=-1)).eval()
    m = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.GroupNorm(2, 8), nn.SiLU(), nn.MaxPool2d(2),
        nn.ConvTranspose2d(8, 4, 2, stride=2), nn.GELU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Dropout(0.1), nn.Linear(4, 5), nn.LogSoftmax(dim=-1))
    load_from_torch(m, tm, "float32")
    x, tx = make_input(("seq",), (2, 3, 8, 8), "float32", "T")
    check(m(x), tm(tx), "float32")
