"""ember.nn.Module: torch's module model for inference.

Attributes that are Tensors or QTensors become parameters, attributes that are Modules become
submodules; names join with dots exactly as in Hugging Face checkpoints, so `load_state_dict` takes a
checkpoint's tensors by name with no conversion table.
"""

from collections import OrderedDict, namedtuple

from ember import _C

_TENSOR_TYPES = (_C.Tensor, _C.QTensor)

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", False)

    # ---- attribute registry ----

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() before assigning {name!r}")
        # As torch: a registered buffer stays a buffer when reassigned, and None keeps a parameter's
        # or buffer's slot (forward code reads self._parameters["bias"]).
        if name in self._buffers and (value is None or isinstance(value, _TENSOR_TYPES)):
            self._buffers[name] = value
            return
        if name in self._parameters and value is None:
            self._parameters[name] = None
            return
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self.__dict__.pop(name, None)
        if isinstance(value, Module):
            self._modules[name] = value
        elif isinstance(value, _TENSOR_TYPES):
            self._parameters[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, value):
        """Registers `value` (Tensor, QTensor or None) as parameter `name`; None keeps the slot empty."""
        if value is not None and not isinstance(value, _TENSOR_TYPES):
            raise TypeError(f"register_parameter: {name!r} must be a Tensor, QTensor or None, got {type(value).__name__}")
        if value is None:
            self._parameters[name] = None
        else:
            setattr(self, name, value)

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is state but not a weight (e.g. rotary tables, a KV cache). Non-persistent
        buffers stay out of state_dict."""
        if tensor is not None and not isinstance(tensor, _TENSOR_TYPES):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}")
        for registry in (self._parameters, self._modules):
            registry.pop(name, None)
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def register_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"register_module: {name!r} must be a Module or None, got {type(module).__name__}")
        self._modules[name] = module

    add_module = register_module

    # ---- traversal ----

    def named_modules(self, prefix="", memo=None, remove_duplicate=True):
        """(dotted name, module) for self and every submodule, depth first; a module reachable under
        two names is listed once unless remove_duplicate=False (state_dict lists it under both, as torch)."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo, remove_duplicate)

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def _named_members(self, registry, prefix, recurse):
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix="", recurse=True):
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True):
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    def get_submodule(self, target):
        module = self
        for part in target.split(".") if target else []:
            if part not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} (looking up {target!r})")
            module = module._modules[part]
        return module

    def apply(self, fn):
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- state ----

    def state_dict(self, prefix=""):
        """Parameters and persistent buffers by dotted name (the tensors themselves, not copies);
        a tensor shared by two names (tied embeddings) appears under both."""
        out = OrderedDict()
        for module_prefix, module in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            dot = f"{module_prefix}." if module_prefix else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[dot + name] = p
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    out[dot + name] = b
        return out

    def _state_slots(self):
        """(full name, owning module, attribute, current value, is_buffer) for every loadable slot."""
        for module_prefix, module in self.named_modules(remove_duplicate=False):
            dot = f"{module_prefix}." if module_prefix else ""
            for name, p in module._parameters.items():
                if p is not None:
                    yield dot + name, module, name, p, False
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    yield dot + name, module, name, b, True

    def load_state_dict(self, state_dict, strict=True, assign=True):
        """Puts the tensors of `state_dict` into the module by name, without copying them (the module
        then shares memory with the checkpoint, e.g. a mapped file). A Linear or Embedding weight may
        arrive as a QTensor. Shapes must match; float tensors are cast to the dtype the module holds.
        strict=True raises CheckpointMismatchError listing missing, unexpected and mis-shaped names;
        otherwise returns (missing_keys, unexpected_keys)."""
        from ember.nn.var_builder import CheckpointMismatchError

        del assign  # always by reference: an inference module never owns a private copy
        slots = list(self._state_slots())
        expected = {name for name, *_ in slots}
        missing, mismatched = {}, {}
        for name, module, attr, current, is_buffer in slots:
            if name not in state_dict:
                missing[name] = tuple(current.shape)
                continue
            value = state_dict[name]
            if not isinstance(value, _TENSOR_TYPES):
                raise TypeError(f"load_state_dict: {name!r} is a {type(value).__name__}, not a Tensor or QTensor")
            if tuple(value.shape) != tuple(current.shape):
                mismatched[name] = (tuple(current.shape), tuple(value.shape))
                continue
            if isinstance(value, _C.QTensor) and not getattr(module, "accepts_qtensor", False):
                raise TypeError(f"load_state_dict: {name!r} is a quantized tensor ({value.qtype}) but "
                                f"{type(module).__name__} cannot use quantized weights")
            value = _match_dtype(value, current)
            (module._buffers if is_buffer else module._parameters)[attr] = value
        unexpected = [k for k in state_dict if k not in expected]
        if strict and (missing or mismatched or unexpected):
            raise CheckpointMismatchError(missing=missing, mismatched=mismatched, unexpected=unexpected)
        if mismatched:
            raise CheckpointMismatchError(mismatched=mismatched)
        return IncompatibleKeys(sorted(missing), unexpected)

    # ---- device and dtype ----

    def to(self, device=None, dtype=None):
        """Moves every parameter and buffer to `device` and casts floating-point ones to `dtype`
        (integer buffers keep their dtype, QTensors keep their block format). Returns self."""
        if isinstance(device, _C.dtype):
            device, dtype = None, device
        if dtype is not None and not _is_float(dtype):
            raise TypeError(f"Module.to: dtype must be a floating-point dtype, got {dtype}")
        converted = {}
        for module in self.modules():
            for registry in (module._parameters, module._buffers):
                for name, t in registry.items():
                    if t is None:
                        continue
                    if id(t) not in converted:
                        converted[id(t)] = _convert(t, device, dtype)
                    registry[name] = converted[id(t)]
        return self

    def float(self):
        return self.to(dtype=_C.float32)

    def half(self):
        return self.to(dtype=_C.float16)

    def bfloat16(self):
        return self.to(dtype=_C.bfloat16)

    def cpu(self):
        return self.to(device="cpu")

    def eval(self):
        return self

    def train(self, mode=True):
        if mode:
            raise NotImplementedError("ember has no training mode (inference only)")
        return self

    def requires_grad_(self, requires_grad=True):
        return self

    # ---- calling and printing ----

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"({name}): " + _indent(repr(child)) for name, child in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return list(super().__dir__()) + list(self._parameters) + list(self._buffers) + list(self._modules)


def _indent(text):
    return text.replace("\n", "\n  ")


def _is_float(dtype):
    return dtype in (_C.float32, _C.float16, _C.bfloat16, _C.float64)


def _convert(t, device, dtype):
    if isinstance(t, _C.QTensor):
        return t.to(device) if device is not None else t
    if dtype is not None and _is_float(t.dtype) and t.dtype != dtype:
        t = t.to(dtype)
    if device is not None:
        t = t.to(device)
    return t


def _match_dtype(value, current):
    if (isinstance(value, _C.Tensor) and isinstance(current, _C.Tensor) and value.dtype != current.dtype
            and _is_float(value.dtype) and _is_float(current.dtype)):
        return value.to(current.dtype)
    return value


class Sequential(Module):
    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, m in modules[0].items():
                self.register_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.register_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i):
        if isinstance(i, slice):  # keeps the names, as torch does
            return Sequential(OrderedDict(list(self._modules.items())[i]))
        return list(self._modules.values())[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.register_module(str(len(self._modules)), module)
        return self


class ModuleList(Module):
    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module):
        self.register_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i):
        items = list(self._modules.values())
        if isinstance(i, slice):
            return ModuleList(items[i])
        return items[i]

    def __setitem__(self, i, module):
        key = list(self._modules)[i]
        self.register_module(key, module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleDict(Module):
    def __init__(self, modules=None):
        super().__init__()
        for name, m in (modules or {}).items():
            self.register_module(name, m)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.register_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()
