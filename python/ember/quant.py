"""Quantized storage types: ggml's block formats, and f32 / f16 / bf16 rows.

``ember.quantize(t, "q4_k")`` makes an ``ember.QTensor``; ``ember.qmatmul(x, q)`` multiplies by it.
This module describes the types: their ggml ids (as GGUF files store them), block sizes and bytes.
"""

from __future__ import annotations

from typing import NamedTuple

from ember import _C


class QTypeInfo(NamedTuple):
    name: str        # lowercase, as in ember.QTYPES
    ggml_type: int   # ggml's type id
    block_size: int  # elements per block
    type_size: int   # bytes per block


_INFO = {row[0]: QTypeInfo(*row) for row in _C._qtype_table()}
_BY_GGML = {info.ggml_type: info.name for info in _INFO.values()}

QTYPES = tuple(_INFO)


def qtype_info(name: str) -> QTypeInfo:
    """The block layout of a quantized type, by name (case-insensitive)."""
    info = _INFO.get(name.lower()) if isinstance(name, str) else None
    if info is None:
        raise ValueError(f"unknown quantized type {name!r}; expected one of {', '.join(QTYPES)}")
    return info


def qtype_from_ggml(ggml_type: int) -> str:
    """The name of the quantized type with ggml id ``ggml_type``."""
    name = _BY_GGML.get(ggml_type)
    if name is None:
        raise ValueError(f"ggml type id {ggml_type} is not a quantized type ember supports ({', '.join(QTYPES)})")
    return name


def row_nbytes(name: str, row_length: int) -> int:
    """Bytes of blocks in one row of ``row_length`` elements (a multiple of the block size)."""
    info = qtype_info(name)
    if row_length % info.block_size:
        raise ValueError(f"a {info.name} row needs a multiple of {info.block_size} elements, got {row_length}")
    return row_length // info.block_size * info.type_size
