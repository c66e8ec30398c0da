"""A pickle interpreter for untrusted files: it builds plain data and calls nothing but the
allow-listed functions it is handed.

``pickle.load`` imports and calls whatever a stream names, so a weight file read with it can run
any code. ``Unpickler`` reads the stream opcode by opcode instead. It builds numbers, strings,
bytes, lists, tuples, dicts and sets itself; GLOBAL and STACK_GLOBAL look names up in a table of
allowed globals (anything else raises ``UnsafePickleError`` naming the global), REDUCE and NEWOBJ
call only ``Global`` objects from that table, BUILD is accepted only on an OrderedDict, and
persistent ids go to the caller's ``persistent_load``.

The stream is untrusted as well: every length is checked against the end of the stream before
anything is read or allocated, and the stack, the marks, the memo, integer sizes and tuple nesting
are capped. Whatever is wrong raises ``FileFormatError`` naming the file, the stream and the byte.
"""

from __future__ import annotations

import codecs
import inspect
import pickle
import pickletools
import reprlib
import struct
from collections import Counter, OrderedDict

from ember.io._common import FileFormatError, UnsafePickleError

MAX_DEPTH = 100          # containers nested inside each other
MAX_STACK = 1 << 20      # items on the stack at once (pickle batches containers in 1000s)
MAX_MARKS = 4 * MAX_DEPTH
MAX_MEMO = 1 << 24
MAX_INT_BYTES = 1024     # LONG1/LONG4 payloads: about 2466 decimal digits
HIGHEST_PROTOCOL = 5
# What allowed globals may build, in items or bytes, per byte of stream (plus a floor): calling
# set(x) or _codecs.encode(x) again and again on one memoized x must not multiply memory.
BUILD_BUDGET_PER_BYTE, BUILD_BUDGET_FLOOR = 16, 1 << 20

_OPCODE_NAMES = {op.code.encode("latin-1")[0]: op.name for op in pickletools.opcodes}
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, 60, 60
_STOP = object()
_STRUCTS = {f: struct.Struct(f) for f in ("<B", "<H", "<i", "<I", "<Q", ">d")}
_TEXT_BOOLS = {b"00": False, b"01": True}  # protocol 0 writes booleans as INT 00/01
_SIZED = (str, bytes, bytearray, list, tuple, dict, set, frozenset)


def short_repr(obj):
    """A bounded repr for error messages (safe for deep or long values)."""
    return _SHORT.repr(obj)


class PickleDataError(Exception):
    """Raised by an allowed global or a ``persistent_load`` that rejects its arguments; the
    interpreter turns it into a FileFormatError naming the file and the position."""


class Global:
    """An allow-listed function or class. REDUCE calls ``call``; NEWOBJ calls ``new`` (what
    ``cls.__new__`` would do) and is refused when ``new`` is None. The argument count is checked
    first, so a wrong one is a format error, not a TypeError."""

    def __init__(self, name, call, new=None):
        self.name = name
        self._call = (call, *_arity(call))
        self._new = (new, *_arity(new)) if new is not None else None

    def apply(self, args, new=False):
        """``call(*args)`` (``new(*args)`` if ``new``), after checking that ``args`` fit."""
        if new and self._new is None:
            raise UnsafePickleError(f"NEWOBJ of {self.name} is not allowed")
        fn, least, most = self._new if new else self._call
        if type(args) is not tuple:  # noqa: E721
            raise PickleDataError(f"{self.name} takes a tuple of arguments, got {type(args).__name__}")
        if not least <= len(args) <= most:
            raise PickleDataError(f"{self.name} takes {least} to {most} arguments, got {len(args)}")
        return fn(*args)

    def __repr__(self):
        return f"<allowed global {self.name}>"


def _arity(fn):
    """(fewest, most) positional arguments ``fn`` accepts."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 0, 1 << 30
    return sum(p.default is p.empty for p in params), len(params)


# --- globals every pickle of plain data may use ------------------------------------------------

def _ordered_dict(items=()):
    return OrderedDict(_pairs(items, "collections.OrderedDict"))


def _counter(mapping=None):
    if mapping is None:
        return Counter()
    if type(mapping) not in (dict, OrderedDict):
        raise PickleDataError(f"collections.Counter takes a dict, got {type(mapping).__name__}")
    return Counter(mapping)


def _pairs(items, what):
    if type(items) not in (list, tuple) or any(type(p) not in (list, tuple) or len(p) != 2 for p in items):
        raise PickleDataError(f"{what} takes a list of (key, value) pairs")
    return [tuple(p) for p in items]


def _set(items=()):
    if type(items) not in (list, tuple):
        raise PickleDataError(f"builtins.set takes a list or tuple, got {type(items).__name__}")
    return set(_hashable(items, "set item"))


def _frozenset(items=()):
    if type(items) not in (list, tuple):
        raise PickleDataError(f"builtins.frozenset takes a list or tuple, got {type(items).__name__}")
    return frozenset(_hashable(items, "frozenset item"))


def _hashable(items, what):
    for x in items:
        try:
            hash(x)
        except TypeError:
            raise PickleDataError(f"unhashable {what} of type {type(x).__name__}") from None
    return items


def _bytearray(data=b"", encoding=None):
    # Protocols 0-2 write bytearray(str, "latin-1"), 3-4 bytearray(bytes); never bytearray(size).
    if encoding is None and type(data) is bytes:  # noqa: E721
        return bytearray(data)
    if type(data) is str and encoding in ("latin-1", "latin1"):  # noqa: E721
        return bytearray(data.encode("latin-1"))
    raise PickleDataError(f"builtins.bytearray{short_repr((data, encoding))} is not a bytes value")


def _bytes(data=b""):
    # Protocols 0-2 write b"" as bytes(); never bytes(size).
    if type(data) is not bytes:  # noqa: E721
        raise PickleDataError(f"builtins.bytes{short_repr((data,))} is not a bytes value")
    return data


def _encode(text, encoding="utf-8"):
    # Protocol 2 writes bytes as _codecs.encode(str, "latin1"); other codecs (zlib, ...) are refused.
    if type(text) is not str or encoding not in ("latin1", "latin-1"):  # noqa: E721
        raise PickleDataError(f"_codecs.encode{short_repr((text, encoding))}: only latin1 strings are allowed")
    return text.encode("latin-1")


def _complex(real=0.0, imag=0.0):
    if type(real) not in (int, float) or type(imag) not in (int, float):
        raise PickleDataError(f"builtins.complex{short_repr((real, imag))} needs two numbers")
    return complex(real, imag)


def _empty(cls):
    def new(*args):
        if args:
            raise PickleDataError(f"NEWOBJ of {cls.__name__} with arguments")
        return cls()
    return new


PLAIN_GLOBALS = {
    "collections.OrderedDict": Global("collections.OrderedDict", _ordered_dict, _empty(OrderedDict)),
    "collections.Counter": Global("collections.Counter", _counter, _empty(Counter)),
    "builtins.set": Global("builtins.set", _set, _set),
    "builtins.frozenset": Global("builtins.frozenset", _frozenset, _frozenset),
    "builtins.bytearray": Global("builtins.bytearray", _bytearray, _bytearray),
    "builtins.bytes": Global("builtins.bytes", _bytes),
    "builtins.complex": Global("builtins.complex", _complex, _complex),
    "_codecs.encode": Global("_codecs.encode", _encode),
}
# Python 2 spelled some modules differently (pickle's fix_imports does the same renaming).
_MODULE_RENAMES = {"__builtin__": "builtins"}


# --- the interpreter ---------------------------------------------------------------------------

class Unpickler:
    """Interprets one pickle stream in ``data[start:end]`` (bytes, bytearray or mmap).

    ``globals_`` maps ``"module.name"`` to what GLOBAL pushes: a ``Global`` (callable through
    REDUCE/NEWOBJ) or any other value (a constant such as a dtype). ``persistent_load(pid)``
    resolves PERSID/BINPERSID; without it persistent ids are refused. ``what`` names the stream
    in messages (e.g. ``"data.pkl"``)."""

    def __init__(self, data, path, what, globals_, persistent_load=None, start=0, end=None):
        self.data, self.path, self.what = data, path, what
        self.globals, self.persistent_load = globals_, persistent_load
        self.start = self.pos = self.op_pos = start
        self.end = len(data) if end is None else end
        self.stack, self.metastack, self.memo = [], [], {}
        self._depths, self._keep_alive = {}, []  # nesting depth of tuples/frozensets built here
        self._budget = BUILD_BUDGET_FLOOR + BUILD_BUDGET_PER_BYTE * (self.end - start)
        self._result = None
        self._dispatch = {code[0]: getattr(self, name) for code, name in _HANDLERS.items()}

    def load(self):
        """(the unpickled object, the position just past its STOP opcode)."""
        dispatch = self._dispatch
        while True:
            if self.pos >= self.end:
                self._fail("the stream ends before its STOP opcode")
            self.op_pos = self.pos
            code = self.data[self.pos]
            self.pos += 1
            handler = dispatch.get(code)
            if handler is None:
                raise UnsafePickleError(f"{self._where()}: opcode {_OPCODE_NAMES.get(code, 'unknown')} "
                                        f"(0x{code:02x}) is not supported")
            if handler() is _STOP:
                return self._result, self.pos

    # --- helpers ---

    def _where(self):
        return f"{self.path}: {self.what}, byte {self.op_pos - self.start}"

    def _fail(self, message):
        raise FileFormatError(f"{self._where()}: {message}")

    def _take(self, n):
        if n > self.end - self.pos:
            self._fail(f"needs {n} bytes but the stream has {self.end - self.pos} left")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return bytes(chunk)

    def _unpack(self, fmt):
        fmt = _STRUCTS[fmt]
        pos = self.pos
        if fmt.size > self.end - pos:
            self._fail(f"needs {fmt.size} bytes but the stream has {self.end - pos} left")
        self.pos = pos + fmt.size
        return fmt.unpack_from(self.data, pos)[0]

    def _line(self):
        i = self.data.find(b"\n", self.pos, self.end)
        if i < 0:
            self._fail("a text argument has no terminating newline")
        line = bytes(self.data[self.pos:i])
        self.pos = i + 1
        return line

    def _push(self, value):
        if len(self.stack) >= MAX_STACK:
            self._fail(f"the stack grows past {MAX_STACK} items")
        self.stack.append(value)

    def _pop(self):
        if not self.stack:
            self._fail("pops an empty stack")
        return self.stack.pop()

    def _top(self):
        if not self.stack:
            self._fail("needs a value but the stack is empty")
        return self.stack[-1]

    def _pop_mark(self):
        if not self.metastack:
            self._fail("needs a MARK but there is none")
        items, self.stack = self.stack, self.metastack.pop()
        return items

    def _nested(self, container, items):
        """Records the depth of a new tuple/frozenset (hashing one recurses in C, so it is capped)."""
        depth = 1
        for x in items:
            if type(x) is tuple or type(x) is frozenset:  # noqa: E721
                depth = max(depth, 1 + self._depths.get(id(x), 1))
        if depth > MAX_DEPTH:
            self._fail(f"tuples and frozensets nest deeper than {MAX_DEPTH} levels")
        if depth > 1:
            self._depths[id(container)] = depth
            self._keep_alive.append(container)
        return container

    def _tuple(self, items):
        return self._nested(tuple(items), items)

    def _hashable(self, x, what):
        try:
            hash(x)
        except TypeError:
            self._fail(f"{what} of type {type(x).__name__} is not hashable")
        return x

    def _decode_str8(self, raw):
        # Python 2 str: text in practice (state dict keys); keep bytes if it is not UTF-8.
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw

    def _decode_utf8(self, raw):
        try:
            return raw.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as e:
            self._fail(f"a unicode string is not valid UTF-8: {e}")

    def _int_text(self, text, base=0):
        try:
            return int(text, base)
        except ValueError:
            self._fail(f"{short_repr(text)} is not an integer")

    def _lookup(self, module, name):
        module = _MODULE_RENAMES.get(module, module)
        full = f"{module}.{name}"
        if full not in self.globals:
            raise UnsafePickleError(f"{self._where()}: global {full!r} is not allowed (ember builds only "
                                    "tensors and plain data from a pickle)")
        self._push(self.globals[full])

    def _call(self, target, args, new):
        if not isinstance(target, Global):
            raise UnsafePickleError(f"{self._where()}: {'NEWOBJ' if new else 'REDUCE'} of a "
                                    f"{type(target).__name__}, which is not an allowed callable")
        try:
            result = target.apply(args, new=new)
        except PickleDataError as e:
            self._fail(str(e))
        except UnsafePickleError as e:
            raise UnsafePickleError(f"{self._where()}: {e}") from None
        self._budget -= len(result) if isinstance(result, _SIZED) else 1
        if self._budget < 0:
            self._fail(f"the allowed globals build more than {BUILD_BUDGET_PER_BYTE} items or bytes per byte "
                       "of the stream")
        if type(result) is tuple or type(result) is frozenset:  # noqa: E721
            self._nested(result, result)
        self._push(result)

    # --- opcodes: framing and control ---

    def op_proto(self):
        version = self._take(1)[0]
        if version > HIGHEST_PROTOCOL:
            self._fail(f"pickle protocol {version} is not supported (highest: {HIGHEST_PROTOCOL})")

    def op_frame(self):
        size = self._unpack("<Q")
        if size > self.end - self.pos:
            self._fail(f"a frame of {size} bytes runs past the end of the stream")

    def op_stop(self):
        self._result = self._pop()
        return _STOP

    def op_mark(self):
        if len(self.metastack) >= MAX_MARKS:
            self._fail(f"MARKs nest deeper than {MAX_MARKS}")
        self.metastack.append(self.stack)
        self.stack = []

    def op_pop(self):
        if self.stack:
            self.stack.pop()
        else:
            self._pop_mark()

    def op_pop_mark(self):
        self._pop_mark()

    def op_dup(self):
        self._push(self._top())

    # --- numbers, strings, constants ---

    def op_none(self):
        self._push(None)

    def op_newtrue(self):
        self._push(True)

    def op_newfalse(self):
        self._push(False)

    def op_int(self):
        text = self._line()
        self._push(_TEXT_BOOLS[text] if text in _TEXT_BOOLS else self._int_text(text))

    def op_binint(self):
        self._push(self._unpack("<i"))

    def op_binint1(self):
        self._push(self._unpack("<B"))

    def op_binint2(self):
        self._push(self._unpack("<H"))

    def op_long(self):
        text = self._line()
        self._push(self._int_text(text[:-1] if text.endswith(b"L") else text))

    def _long_bytes(self, n):
        if n < 0 or n > MAX_INT_BYTES:
            self._fail(f"an integer of {n} bytes (limit {MAX_INT_BYTES})")
        self._push(int.from_bytes(self._take(n), "little", signed=True))

    def op_long1(self):
        self._long_bytes(self._unpack("<B"))

    def op_long4(self):
        self._long_bytes(self._unpack("<i"))

    def op_float(self):
        text = self._line()
        try:
            self._push(float(text))
        except ValueError:
            self._fail(f"{short_repr(text)} is not a float")

    def op_binfloat(self):
        self._push(self._unpack(">d"))

    def op_string(self):
        text = self._line()
        if len(text) < 2 or text[:1] not in (b"'", b'"') or text[-1:] != text[:1]:
            self._fail("a STRING argument is not quoted")
        try:
            raw = codecs.escape_decode(text[1:-1])[0]
        except ValueError as e:
            self._fail(f"a STRING argument has a bad escape: {e}")
        self._push(self._decode_str8(raw))

    def _sized(self, fmt):
        n = self._unpack(fmt)
        if n < 0:
            self._fail(f"negative length {n}")
        return self._take(n)

    def op_binstring(self):
        self._push(self._decode_str8(self._sized("<i")))

    def op_short_binstring(self):
        self._push(self._decode_str8(self._sized("<B")))

    def op_unicode(self):
        try:
            self._push(self._line().decode("raw-unicode-escape"))
        except UnicodeDecodeError as e:
            self._fail(f"a UNICODE argument does not decode: {e}")

    def op_binunicode(self):
        self._push(self._decode_utf8(self._sized("<I")))

    def op_short_binunicode(self):
        self._push(self._decode_utf8(self._sized("<B")))

    def op_binunicode8(self):
        self._push(self._decode_utf8(self._sized("<Q")))

    def op_binbytes(self):
        self._push(self._sized("<I"))

    def op_short_binbytes(self):
        self._push(self._sized("<B"))

    def op_binbytes8(self):
        self._push(self._sized("<Q"))

    def op_bytearray8(self):
        self._push(bytearray(self._sized("<Q")))

    # --- containers ---

    def op_empty_list(self):
        self._push([])

    def op_list(self):
        self._push(self._pop_mark())

    def op_append(self):
        value = self._pop()
        target = self._top()
        if type(target) is not list:  # noqa: E721
            self._fail(f"APPEND to a {type(target).__name__}")
        target.append(value)

    def op_appends(self):
        items = self._pop_mark()
        target = self._top()
        if type(target) is not list:  # noqa: E721
            self._fail(f"APPENDS to a {type(target).__name__}")
        target.extend(items)

    def op_empty_tuple(self):
        self._push(())

    def op_tuple(self):
        self._push(self._tuple(self._pop_mark()))

    def _tuple_n(self, n):
        if len(self.stack) < n:
            self._fail(f"TUPLE{n} needs {n} values on the stack")
        items = self.stack[-n:]
        del self.stack[-n:]
        self._push(self._tuple(items))

    def op_tuple1(self):
        self._tuple_n(1)

    def op_tuple2(self):
        self._tuple_n(2)

    def op_tuple3(self):
        self._tuple_n(3)

    def op_empty_dict(self):
        self._push({})

    def op_dict(self):
        items = self._pop_mark()
        if len(items) % 2:
            self._fail("DICT with an odd number of items")
        self._push(self._set_items({}, items))

    def _set_items(self, target, items):
        if type(target) not in (dict, OrderedDict, Counter):
            self._fail(f"SETITEM on a {type(target).__name__}")
        for i in range(0, len(items), 2):
            target[self._hashable(items[i], "a dict key")] = items[i + 1]
        return target

    def op_setitem(self):
        value = self._pop()
        key = self._pop()
        self._set_items(self._top(), [key, value])

    def op_setitems(self):
        items = self._pop_mark()
        if len(items) % 2:
            self._fail("SETITEMS with an odd number of items")
        self._set_items(self._top(), items)

    def op_empty_set(self):
        self._push(set())

    def op_additems(self):
        items = self._pop_mark()
        target = self._top()
        if type(target) is not set:  # noqa: E721
            self._fail(f"ADDITEMS to a {type(target).__name__}")
        target.update(self._hashable(x, "a set item") for x in items)

    def op_frozenset(self):
        items = self._pop_mark()
        for x in items:
            self._hashable(x, "a frozenset item")
        self._push(self._nested(frozenset(items), items))

    # --- memo ---

    def _get(self, key):
        if key not in self.memo:
            self._fail(f"memo key {key} is used before it is defined")
        self._push(self.memo[key])

    def _put(self, key):
        if key not in self.memo and len(self.memo) >= MAX_MEMO:
            self._fail(f"the memo grows past {MAX_MEMO} entries")
        self.memo[key] = self._top()

    def op_get(self):
        self._get(self._int_text(self._line(), 10))

    def op_binget(self):
        self._get(self._unpack("<B"))

    def op_long_binget(self):
        self._get(self._unpack("<I"))

    def op_put(self):
        key = self._int_text(self._line(), 10)
        if key < 0:
            self._fail(f"negative memo key {key}")
        self._put(key)

    def op_binput(self):
        self._put(self._unpack("<B"))

    def op_long_binput(self):
        self._put(self._unpack("<I"))

    def op_memoize(self):
        self._put(len(self.memo))

    # --- globals, calls, persistent ids ---

    def op_global(self):
        module = self._line().decode("utf-8", "replace")
        name = self._line().decode("utf-8", "replace")
        self._lookup(module, name)

    def op_stack_global(self):
        name = self._pop()
        module = self._pop()
        if type(module) is not str or type(name) is not str:  # noqa: E721
            self._fail("STACK_GLOBAL needs two strings")
        self._lookup(module, name)

    def op_reduce(self):
        args = self._pop()
        self._call(self._pop(), args, new=False)

    def op_newobj(self):
        args = self._pop()
        self._call(self._pop(), args, new=True)

    def op_newobj_ex(self):
        kwargs = self._pop()
        args = self._pop()
        if kwargs != {}:
            self._fail("NEWOBJ_EX with keyword arguments")
        self._call(self._pop(), args, new=True)

    def op_build(self):
        state = self._pop()
        target = self._top()
        # An OrderedDict's state is its attributes (a state dict's `_metadata`): dropped.
        if type(target) is not OrderedDict:  # noqa: E721
            raise UnsafePickleError(f"{self._where()}: BUILD on a {type(target).__name__} is not allowed")
        if state is not None and type(state) is not dict:  # noqa: E721
            self._fail(f"BUILD of an OrderedDict with a {type(state).__name__} state")

    def _persistent(self, pid):
        if self.persistent_load is None:
            raise UnsafePickleError(f"{self._where()}: this stream may not hold persistent ids")
        try:
            self._push(self.persistent_load(pid))
        except PickleDataError as e:
            self._fail(f"persistent id {short_repr(pid)}: {e}")

    def op_persid(self):
        self._persistent(self._line().decode("ascii", "replace"))

    def op_binpersid(self):
        self._persistent(self._pop())


_HANDLERS = {
    pickle.PROTO: "op_proto", pickle.FRAME: "op_frame", pickle.STOP: "op_stop", pickle.MARK: "op_mark",
    pickle.POP: "op_pop", pickle.POP_MARK: "op_pop_mark", pickle.DUP: "op_dup",
    pickle.NONE: "op_none", pickle.NEWTRUE: "op_newtrue", pickle.NEWFALSE: "op_newfalse",
    pickle.INT: "op_int", pickle.BININT: "op_binint", pickle.BININT1: "op_binint1", pickle.BININT2: "op_binint2",
    pickle.LONG: "op_long", pickle.LONG1: "op_long1", pickle.LONG4: "op_long4",
    pickle.FLOAT: "op_float", pickle.BINFLOAT: "op_binfloat",
    pickle.STRING: "op_string", pickle.BINSTRING: "op_binstring", pickle.SHORT_BINSTRING: "op_short_binstring",
    pickle.UNICODE: "op_unicode", pickle.BINUNICODE: "op_binunicode",
    pickle.SHORT_BINUNICODE: "op_short_binunicode", pickle.BINUNICODE8: "op_binunicode8",
    pickle.BINBYTES: "op_binbytes", pickle.SHORT_BINBYTES: "op_short_binbytes", pickle.BINBYTES8: "op_binbytes8",
    pickle.BYTEARRAY8: "op_bytearray8",
    pickle.EMPTY_LIST: "op_empty_list", pickle.LIST: "op_list", pickle.APPEND: "op_append",
    pickle.APPENDS: "op_appends",
    pickle.EMPTY_TUPLE: "op_empty_tuple", pickle.TUPLE: "op_tuple", pickle.TUPLE1: "op_tuple1",
    pickle.TUPLE2: "op_tuple2", pickle.TUPLE3: "op_tuple3",
    pickle.EMPTY_DICT: "op_empty_dict", pickle.DICT: "op_dict", pickle.SETITEM: "op_setitem",
    pickle.SETITEMS: "op_setitems",
    pickle.EMPTY_SET: "op_empty_set", pickle.ADDITEMS: "op_additems", pickle.FROZENSET: "op_frozenset",
    pickle.GET: "op_get", pickle.BINGET: "op_binget", pickle.LONG_BINGET: "op_long_binget",
    pickle.PUT: "op_put", pickle.BINPUT: "op_binput", pickle.LONG_BINPUT: "op_long_binput",
    pickle.MEMOIZE: "op_memoize",
    pickle.GLOBAL: "op_global", pickle.STACK_GLOBAL: "op_stack_global", pickle.REDUCE: "op_reduce",
    pickle.NEWOBJ: "op_newobj", pickle.NEWOBJ_EX: "op_newobj_ex", pickle.BUILD: "op_build",
    pickle.PERSID: "op_persid", pickle.BINPERSID: "op_binpersid",
}


def unpickle(data, path, what, globals_, persistent_load=None, start=0, end=None):
    """(object, end position) of the pickle stream at ``data[start:end]``; see ``Unpickler``."""
    return Unpickler(data, path, what, globals_, persistent_load, start, end).load()
