"""Text generation with a causal language model: sampling, `generate` (ids) and `stream` (text).

The model follows the causal-LM protocol of ember.models: ``model.reset()`` empties its KV cache and
``model(ids, start_pos=p, last_only=True)`` returns the logits (1, 1, vocab) of the last position
after writing positions [p, p + len(ids)) to the cache. The prompt runs in chunks of at most
`PROMPT_CHUNK` tokens, one forward each; then each new token is one forward.

Sampling follows llama.cpp's default chain, in this order:

1. repetition penalty over the last `repeat_last_n` tokens (prompt included): each distinct token's
   logit is divided by `repeat_penalty` when positive and multiplied by it when negative;
2. top-k: keep the k largest logits;
3. top-p: keep the most likely tokens whose probabilities (softmax at temperature 1) first sum to >= p;
4. min-p: keep tokens whose probability is >= min_p times the largest one;
5. temperature: divide the logits by it, then draw from the softmax.

A temperature of 0 or None is greedy decoding: the argmax after the penalty, the filters are moot.
"""

from __future__ import annotations

import dataclasses
import time

__all__ = ["GenerationStats", "Sampler", "generate", "stream"]

PROMPT_CHUNK = 512


@dataclasses.dataclass
class GenerationStats:
    """Filled in by `generate(..., stats=s)` and `stream(..., stats=s)` as they run.

    ``prompt_seconds`` is the time of the prompt's forwards; ``generate_seconds`` the time from then
    to the end (forwards, sampling and detokenization of the new tokens). ``stop_reason`` is one of
    "stop_id", "stop_string", "max_new_tokens", "cache_full" (the model's KV cache has no room left)."""

    prompt_tokens: int = 0
    prompt_seconds: float = 0.0
    generated_tokens: int = 0
    generate_seconds: float = 0.0
    stop_reason: str | None = None

    @property
    def prompt_tokens_per_second(self):
        return self.prompt_tokens / self.prompt_seconds if self.prompt_seconds > 0 else float("nan")

    @property
    def generate_tokens_per_second(self):
        return self.generated_tokens / self.generate_seconds if self.generate_seconds > 0 else float("nan")


class Sampler:
    """Picks the next token from a row of logits (see the module docstring for the order of the steps).

    ``seed`` seeds numpy's PCG64 generator, so two samplers with the same seed and inputs pick the same
    tokens; ``seed=None`` draws fresh entropy."""

    def __init__(self, temperature=1.0, top_k=None, top_p=None, min_p=None, repeat_penalty=1.0,
                 repeat_last_n=64, seed=None):
        import numpy as np

        for name, v in (("temperature", temperature), ("top_p", top_p), ("min_p", min_p)):
            if v is not None and v < 0:
                raise ValueError(f"{name} must be >= 0, got {v}")
        if repeat_penalty is not None and repeat_penalty <= 0:
            raise ValueError(f"repeat_penalty must be > 0, got {repeat_penalty}")
        if top_k is not None and top_k < 0:
            raise ValueError(f"top_k must be >= 0 (0 or None: off), got {top_k}")
        self.temperature, self.top_k, self.top_p, self.min_p = temperature, top_k, top_p, min_p
        self.repeat_penalty, self.repeat_last_n = repeat_penalty or 1.0, repeat_last_n
        self.rng = np.random.Generator(np.random.PCG64(seed))

    @property
    def greedy(self):
        return not self.temperature

    def penalize(self, logits, history=()):
        """A float32 copy of the logits row with the repetition penalty applied."""
        import numpy as np

        x = np.array(logits, dtype=np.float32).reshape(-1)
        recent = list(history)[-self.repeat_last_n:] if self.repeat_last_n > 0 else []
        if self.repeat_penalty != 1.0 and recent:
            ids = np.unique(np.asarray(recent, dtype=np.int64))
            ids = ids[(ids >= 0) & (ids < x.size)]
            v = x[ids]
            x[ids] = np.where(v > 0, v / self.repeat_penalty, v * self.repeat_penalty)
        return x

    def probabilities(self, logits, history=()):
        """The distribution the next token is drawn from (float64, zeros for filtered-out tokens)."""
        import numpy as np

        x = self.penalize(logits, history).astype(np.float64)
        if self.greedy:
            p = np.zeros_like(x)
            p[int(np.argmax(x))] = 1.0
            return p
        idx, v = self._filter(x)
        p = np.zeros_like(x)
        p[idx] = _softmax(v / self.temperature)
        return p

    def _filter(self, x):
        """The indices of the tokens that top-k, top-p and min-p keep, and their logits."""
        import numpy as np

        idx = np.arange(x.size)
        if self.top_k and self.top_k < x.size:
            idx = np.argpartition(x, -self.top_k)[-self.top_k:]
        v = x[idx]
        if self.top_p is not None and self.top_p < 1.0:
            p = _softmax(v)
            order = _descending(p, self.top_p)
            keep = int(np.searchsorted(np.cumsum(p[order]), self.top_p)) + 1
            idx, v = idx[order[:keep]], v[order[:keep]]
        if self.min_p:
            p = _softmax(v)
            kept = p >= self.min_p * p.max()
            idx, v = idx[kept], v[kept]
        return idx, v

    def __call__(self, logits, history=()):
        """The next token id."""
        import numpy as np

        if self.greedy:
            return int(np.argmax(self.penalize(logits, history)))
        cdf = np.cumsum(self.probabilities(logits, history))
        i = int(np.searchsorted(cdf, self.rng.random() * cdf[-1], side="right"))
        return min(i, cdf.size - 1)


def _descending(p, mass):
    """Indices that sort `p` from the largest, at least far enough to cover `mass` (sorting only the
    largest 256 when they do, which is the usual case and much cheaper than sorting a whole vocabulary)."""
    import numpy as np

    if p.size > 1024:
        top = np.argpartition(p, -256)[-256:]
        top = top[np.argsort(-p[top], kind="stable")]
        if p[top].sum() >= mass:
            return top
    return np.argsort(-p, kind="stable")


def _softmax(x):
    import numpy as np

    e = np.exp(x - np.max(x))
    return e / e.sum()


def _ids(prompt_ids):
    ids = prompt_ids.tolist() if hasattr(prompt_ids, "tolist") else list(prompt_ids)
    if len(ids) == 1 and isinstance(ids[0], list):  # a (1, n) batch
        ids = ids[0]
    if not ids:
        raise ValueError("the prompt is empty: generation needs at least one token (a BOS token will do)")
    return [int(i) for i in ids]


def _as_list(ids):
    if ids is None:
        return []
    return [int(ids)] if isinstance(ids, int) else [int(i) for i in ids]


def _default_stop_ids(model, tokenizer):
    config = getattr(model, "config", None)
    ids = _as_list(getattr(config, "eos_token_id", None))
    tokenizer = tokenizer or getattr(model, "tokenizer", None)
    if tokenizer is not None:
        ids += list(tokenizer.eos_token_ids or [])
    return set(ids)


def _tokens(model, prompt_ids, max_new_tokens, sampler, stop_ids, stats):
    """Yields the new token ids; the stop id that ends generation is not yielded."""
    import ember

    prompt = _ids(prompt_ids)
    capacity = getattr(model, "max_cache_len", None)
    if capacity is not None and len(prompt) > capacity:
        raise ValueError(f"the prompt has {len(prompt)} tokens but the model's cache holds {capacity} "
                         "positions; shorten the prompt or load the model with a longer max_cache_len")
    stats = stats if stats is not None else GenerationStats()
    stats.prompt_tokens, stats.generated_tokens, stats.stop_reason = len(prompt), 0, None

    def forward(ids, start):
        out = model(ember.tensor([ids], dtype=ember.int64), start_pos=start, last_only=True)
        return out[0, -1].numpy()

    t0 = time.perf_counter()
    model.reset()
    for start in range(0, len(prompt), PROMPT_CHUNK):
        logits = forward(prompt[start:start + PROMPT_CHUNK], start)
    t1 = time.perf_counter()
    stats.prompt_seconds = t1 - t0
    history = list(prompt)
    try:
        while True:
            if stats.generated_tokens >= max_new_tokens:
                stats.stop_reason = "max_new_tokens"
                return
            token = sampler(logits, history)
            stats.generated_tokens += 1
            if token in stop_ids:
                stats.stop_reason = "stop_id"
                return
            yield token
            history.append(token)
            if stats.generated_tokens >= max_new_tokens:
                stats.stop_reason = "max_new_tokens"
                return
            if capacity is not None and len(history) > capacity:
                stats.stop_reason = "cache_full"
                return
            logits = forward([token], len(history) - 1)
    finally:
        stats.generate_seconds = time.perf_counter() - t1


def generate(model, prompt_ids, max_new_tokens=256, temperature=1.0, top_k=None, top_p=None, min_p=None,
             repeat_penalty=1.0, seed=None, stop_ids=None, stats=None):
    """The new token ids (without the prompt, and without the stop id that ended generation).

    Generation ends at a token in `stop_ids` (default: the eos ids of ``model.config`` and of
    ``model.tokenizer``), after `max_new_tokens`, or when the model's KV cache is full. A prompt longer
    than ``model.max_cache_len`` raises ValueError. Pass a `GenerationStats` as `stats` for timings."""
    sampler = Sampler(temperature, top_k, top_p, min_p, repeat_penalty, seed=seed)
    stops = _default_stop_ids(model, None) if stop_ids is None else set(_as_list(stop_ids))
    return list(_tokens(model, prompt_ids, max_new_tokens, sampler, stops, stats))


def stream(model, tokenizer, prompt_ids, max_new_tokens=256, temperature=1.0, top_k=None, top_p=None,
           min_p=None, repeat_penalty=1.0, seed=None, stop_ids=None, stop=None, stats=None):
    """Like `generate`, but yields the new text as soon as it is final.

    `stop` is a list of strings that end generation; a stop string's text is not yielded, and text that
    might be the start of one is held back until it is known not to be. `tokenizer` may be None when
    the model carries one (``model.tokenizer``)."""
    tokenizer = tokenizer or getattr(model, "tokenizer", None)
    if tokenizer is None:
        raise ValueError("stream needs a tokenizer: pass one, or load a model that carries one")
    stop = [s for s in (stop or []) if s]
    sampler = Sampler(temperature, top_k, top_p, min_p, repeat_penalty, seed=seed)
    stops = _default_stop_ids(model, tokenizer) if stop_ids is None else set(_as_list(stop_ids))
    stats = stats if stats is not None else GenerationStats()
    decoder = tokenizer.stream_decoder()
    pending = ""
    tokens = _tokens(model, prompt_ids, max_new_tokens, sampler, stops, stats)
    for token in tokens:
        pending += decoder.push(token)
        cut = _find_stop(pending, stop)
        if cut is not None:
            tokens.close()
            stats.stop_reason = "stop_string"
            if cut:
                yield pending[:cut]
            return
        keep = _held_back(pending, stop)
        if len(pending) > keep:
            yield pending[:len(pending) - keep]
            pending = pending[len(pending) - keep:]
    pending += decoder.flush()
    cut = _find_stop(pending, stop)
    if cut is not None:
        stats.stop_reason = "stop_string"
        pending = pending[:cut]
    if pending:
        yield pending


def _find_stop(text, stop):
    """Where the first stop string in `text` begins, or None."""
    found = [i for i in (text.find(s) for s in stop) if i >= 0]
    return min(found) if found else None


def _held_back(text, stop):
    """How many characters at the end of `text` could be the start of a stop string."""
    best = 0
    for s in stop:
        for n in range(min(len(s) - 1, len(text)), best, -1):
            if text.endswith(s[:n]):
                best = n
                break
    return best
