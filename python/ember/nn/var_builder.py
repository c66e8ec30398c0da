"""VarBuilder: hands model code its weights by dotted name, with shape checks and a record of what
was never used.

>>> vb = VarBuilder.from_files("model_dir", dtype=ember.float16)
>>> layer = vb.pp("model").pp("layers").pp(0)
>>> w = layer.get("attn.q_proj.weight", shape=(768, 768))   # "model.layers.0.attn.q_proj.weight"

Outside ``strict()`` every problem raises at once (a missing name: ``KeyError``; a wrong shape:
``CheckpointMismatchError``) and nothing is ever filled with a placeholder, so a model either gets
the checkpoint's tensors or does not get built. Inside ``with vb.strict():`` problems are collected
and raised together when the block ends; see :meth:`VarBuilder.strict`.
"""

from __future__ import annotations

import os

import ember

__all__ = ["CheckpointMismatchError", "VarBuilder"]

_SHOWN_PER_SECTION = 20  # names listed per section of a CheckpointMismatchError message


class CheckpointMismatchError(ValueError):
    """A checkpoint does not match what the model asked for.

    ``missing``: dict full name -> the shape the model expected, for names the checkpoint lacks.
    ``mismatched``: dict full name -> (expected shape, checkpoint shape).
    ``unexpected``: sorted list of the checkpoint's names the model never used.
    Raised by ``VarBuilder.get`` for one wrong shape, and by ``VarBuilder.strict()`` with everything
    found in its block. The message lists each section (the first 20 names of each)."""

    def __init__(self, missing=None, mismatched=None, unexpected=()):
        self.missing = dict(sorted((missing or {}).items()))
        self.mismatched = dict(sorted((mismatched or {}).items()))
        self.unexpected = sorted(unexpected)
        super().__init__(self._message())

    def _message(self):
        if len(self.mismatched) == 1 and not self.missing and not self.unexpected:
            (name, (expected, actual)), = self.mismatched.items()
            return f"{name}: the model expects shape {_fmt(expected)}, the checkpoint has {_fmt(actual)}"
        counts = [f"{len(self.missing)} missing", f"{len(self.mismatched)} with the wrong shape",
                  f"{len(self.unexpected)} unexpected"]
        lines = ["the checkpoint does not match the model: " + ", ".join(counts)]
        lines += _section("missing (name: expected shape)", self.missing,
                          lambda n, s: f"{n}: {_fmt(s)}{_close_hint(n, self.unexpected)}")
        lines += _section("wrong shape (name: expected shape, checkpoint shape)", self.mismatched,
                          lambda n, s: f"{n}: {_fmt(s[0])}, checkpoint {_fmt(s[1])}")
        lines += _section("unexpected (in the checkpoint, never used)", dict.fromkeys(self.unexpected),
                          lambda n, _: n)
        return "\n".join(lines)


def _section(title, items, line):
    if not items:
        return []
    out = [f"  {title}:"]
    out += [f"    {line(name, value)}" for name, value in list(items.items())[:_SHOWN_PER_SECTION]]
    if len(items) > _SHOWN_PER_SECTION:
        out.append(f"    ... and {len(items) - _SHOWN_PER_SECTION} more (see the exception's attributes)")
    return out


def _close_hint(name, candidates):
    close = _close_names(name, candidates, 1)
    return f"  (close unexpected name: {close[0]})" if close else ""


def _close_names(name, candidates, n):
    import difflib

    return difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.6)


def _fmt(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class _Checkpoint:
    """What a VarBuilder and all its children share: the tensors, where each name lives, which
    names were handed out, and the active ``strict()`` blocks."""

    def __init__(self, sources, labels):
        self.sources = sources
        self.where = {}  # full name -> index into sources
        for i, source in enumerate(sources):
            for name in source:
                if not isinstance(name, str):
                    raise TypeError(f"VarBuilder: tensor names must be str, got {name!r} in {labels[i]}")
                if name in self.where:
                    raise ValueError(f"VarBuilder: tensor {name!r} is in both {labels[self.where[name]]} "
                                     f"and {labels[i]}")
                self.where[name] = i
        self.used = set()
        self.blocks = []  # active _StrictBlock records, innermost last

    def fetch(self, name):
        source = self.sources[self.where[name]]
        # a dict or Mapping is indexed; a lazy reader such as ember.io.SafetensorsFile has get()
        t = source[name] if hasattr(source, "__getitem__") else source.get(name)
        if not isinstance(t, ember.Tensor):
            raise TypeError(f"VarBuilder: {name!r} is a {type(t).__name__}, not an ember.Tensor")
        return t


class VarBuilder:
    """Weights for model code, by dotted name under a prefix.

    ``tensors`` is a mapping name -> Tensor (a dict, or anything with ``keys()`` and ``get(name)``
    such as ``ember.io.SafetensorsFile``), or a list of them (the shards of one checkpoint; a name
    in two shards is an error). ``dtype`` converts floating-point tensors as they are handed out
    (integer and bool tensors keep theirs); ``device`` moves them. Both can be overridden per
    ``get``.

    ``pp(prefix)`` gives a child builder that shares the tensors and the record of used names.
    Missing names raise ``KeyError`` and wrong shapes ``CheckpointMismatchError`` right away, unless
    inside ``strict()``; outside it nothing is ever filled with a placeholder.
    """

    def __init__(self, tensors, dtype=None, device=None):
        if isinstance(tensors, (list, tuple)):
            sources, labels = list(tensors), [f"shard {i}" for i in range(len(tensors))]
        else:
            sources, labels = [tensors], ["the checkpoint"]
        for source, label in zip(sources, labels):
            if not hasattr(source, "keys"):
                raise TypeError(f"VarBuilder: expected a mapping name -> Tensor or a list of them, "
                                f"got {type(source).__name__} ({label})")
        self._init(_Checkpoint(sources, labels), "", dtype, device)

    def _init(self, checkpoint, prefix, dtype, device):
        _check_dtype(dtype)
        self._ckpt = checkpoint
        self._prefix = prefix
        self.dtype = dtype
        self.device = None if device is None else ember.device(device)

    @classmethod
    def from_files(cls, paths_or_dir, dtype=None, device=None):
        """A builder over weight files: one path (a file, a ``*.index.json`` or a model directory)
        or a list of paths, each read with ``ember.io.load`` (memory-mapped, nothing copied)."""
        import ember.io

        _check_dtype(dtype)
        paths = [paths_or_dir] if isinstance(paths_or_dir, (str, os.PathLike)) else list(paths_or_dir)
        if not paths:
            raise ValueError("VarBuilder.from_files: no paths given")
        builder = cls.__new__(cls)
        labels = [os.fspath(p) for p in paths]
        builder._init(_Checkpoint([ember.io.load(p) for p in paths], labels), "", dtype, device)
        return builder

    # ---- prefixes and names

    @property
    def prefix(self):
        """The dotted prefix of this builder ("" for the root)."""
        return self._prefix

    def pp(self, prefix):
        """A child builder for names under ``prefix`` (a str such as ``"layers.0"`` or an int),
        sharing the tensors, the record of used names, ``dtype`` and ``device``."""
        child = type(self).__new__(type(self))
        child._init(self._ckpt, self._full(prefix), self.dtype, self.device)
        return child

    push_prefix = pp

    def _full(self, name):
        if isinstance(name, int) and not isinstance(name, bool):
            name = str(name)
        if not isinstance(name, str):
            raise TypeError(f"VarBuilder: a name must be a str or an int, got {type(name).__name__}")
        if not name or name.startswith(".") or name.endswith("."):
            raise ValueError(f"VarBuilder: invalid name {name!r} (empty, or starting or ending with '.')")
        return f"{self._prefix}.{name}" if self._prefix else name

    def _under_prefix(self, full):
        return not self._prefix or full.startswith(self._prefix + ".")

    def contains(self, name):
        """Whether the checkpoint has a tensor at ``name`` under this builder's prefix."""
        return self._full(name) in self._ckpt.where

    __contains__ = contains

    def keys(self):
        """The names under this builder's prefix, relative to it, sorted."""
        cut = len(self._prefix) + 1 if self._prefix else 0
        return sorted(full[cut:] for full in self._ckpt.where if self._under_prefix(full))

    def unused(self):
        """Full names under this builder's prefix that no builder sharing its checkpoint has handed
        out yet, sorted."""
        return sorted(full for full in self._ckpt.where
                      if full not in self._ckpt.used and self._under_prefix(full))

    # ---- tensors

    def get(self, name, shape=None, dtype=None, device=None):
        """The tensor at ``name`` (relative to the prefix).

        ``shape`` (a tuple or an int) is checked when given. ``dtype`` / ``device`` override the
        builder's; floating-point tensors are converted, integer and bool tensors keep their dtype.
        A missing name raises ``KeyError`` naming the full name and up to 3 close names; a wrong
        shape raises ``CheckpointMismatchError``. Inside ``strict()`` both are recorded instead
        (a missing name only when ``shape`` is given) and a zero placeholder is returned."""
        full = self._full(name)
        expected = _as_shape(shape)
        dtype = self.dtype if dtype is None else dtype
        device = self.device if device is None else device
        if full not in self._ckpt.where:
            return self._missing(full, expected, dtype, device)
        t = self._ckpt.fetch(full)
        if expected is not None and tuple(t.shape) != expected:
            return self._wrong_shape(full, expected, t, dtype, device)
        from ember.io._common import convert

        out = convert(t, dtype, device)
        self._ckpt.used.add(full)
        return out

    def get_or_none(self, name, shape=None, dtype=None, device=None):
        """Like ``get``, but ``None`` when the checkpoint has no ``name`` (for optional weights such
        as a bias); not recorded as missing inside ``strict()``. A wrong shape still counts."""
        if not self.contains(name):
            return None
        return self.get(name, shape=shape, dtype=dtype, device=device)

    def _missing(self, full, shape, dtype, device):
        if not self._ckpt.blocks:
            raise KeyError(self._missing_message(full))
        if shape is None:
            raise KeyError(self._missing_message(full) + "; inside strict(), pass shape= to have it "
                           "recorded instead")
        for block in self._ckpt.blocks:
            block.missing[full] = shape
        return _placeholder(shape, ember.float32 if dtype is None else dtype, device)

    def _missing_message(self, full):
        close = _close_names(full, self._ckpt.where, 3)
        if close:
            return f"no tensor {full!r} in the checkpoint; close names: {', '.join(map(repr, close))}"
        return f"no tensor {full!r} in the checkpoint (no close names among {len(self._ckpt.where)} tensors)"

    def _wrong_shape(self, full, expected, t, dtype, device):
        actual = tuple(t.shape)
        if not self._ckpt.blocks:
            raise CheckpointMismatchError(mismatched={full: (expected, actual)})
        self._ckpt.used.add(full)  # reported as mismatched, not also as unexpected
        for block in self._ckpt.blocks:
            block.mismatched[full] = (expected, actual)
        out_dtype = dtype if dtype is not None and t.is_floating_point() else t.dtype
        return _placeholder(expected, out_dtype, device)

    # ---- strict mode

    def strict(self):
        """A context manager that collects every mismatch of the block and raises them together.

        Inside the block, ``get`` of a missing name with a ``shape`` records it and returns a zero
        placeholder of that shape (a stride-0 view of one element, in the requested dtype or
        float32); a wrong shape is recorded and also answered with a placeholder of the expected
        shape, so model construction runs to the end. When the block ends normally,
        ``CheckpointMismatchError`` is raised if anything was missing or mismatched, or if names
        under this builder's prefix were never handed out (``unused()``). An exception raised
        inside the block propagates unchanged and nothing is reported. Blocks may nest; each
        reports what happened inside it."""
        return _StrictBlock(self)

    def __repr__(self):
        return (f"VarBuilder(prefix={self._prefix!r}, {len(self.keys())} tensors, dtype={self.dtype}, "
                f"device={self.device})")


class _StrictBlock:
    def __init__(self, builder):
        self.builder = builder
        self.missing = {}
        self.mismatched = {}

    def __enter__(self):
        self.builder._ckpt.blocks.append(self)
        return self.builder

    def __exit__(self, exc_type, exc, tb):
        self.builder._ckpt.blocks.remove(self)
        if exc_type is not None:
            return False
        unexpected = self.builder.unused()
        if self.missing or self.mismatched or unexpected:
            raise CheckpointMismatchError(self.missing, self.mismatched, unexpected)
        return False


def _check_dtype(dtype):
    if dtype is not None and not isinstance(dtype, ember.dtype):
        raise TypeError(f"VarBuilder: dtype must be an ember.dtype, got {dtype!r}")


def _as_shape(shape):
    if shape is None:
        return None
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in dims):
        raise ValueError(f"VarBuilder: shape must hold non-negative ints, got {shape!r}")
    return dims


def _placeholder(shape, dtype, device):
    """Zeros of ``shape`` that allocate one element: a stride-0 view."""
    return ember.zeros((), dtype=dtype, device=device).expand(shape)
