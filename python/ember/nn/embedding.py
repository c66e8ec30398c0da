"""Embedding: a lookup table that may stay quantized."""

from ember import _C
from ember.nn import init
from ember.nn.module import Module


class Embedding(Module):
    """Rows of weight (num_embeddings, embedding_dim) picked by integer ids. A QTensor table is
    dequantized row by row (only the rows asked for) to `output_dtype` (default float32)."""

    accepts_qtensor = True

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, device=None, dtype=None, output_dtype=None):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.output_dtype = output_dtype
        self.weight = init.normal((num_embeddings, embedding_dim), 1.0, dtype, device)

    @classmethod
    def from_weights(cls, weight, output_dtype=None):
        with init.no_init():
            layer = cls(*weight.shape, output_dtype=output_dtype)
        layer.weight = weight
        return layer

    def forward(self, ids):
        w = self.weight
        if isinstance(w, _C.QTensor):
            return _C.qembedding(ids, w, dtype=self.output_dtype or _C.float32)
        out = _C._embedding(ids, w)
        if self.output_dtype is not None and out.dtype != self.output_dtype:
            out = out.to(self.output_dtype)
        return out

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"
