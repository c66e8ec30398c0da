"""ember.generation: the sampler's filters and statistics, and generate / stream driven by a fake model."""

import math
from types import SimpleNamespace

import ember
import numpy as np
import pytest
from ember.generation import PROMPT_CHUNK, GenerationStats, Sampler, generate, stream
from ember.tokenizer import StreamDecoder

PROBS = np.array([0.4, 0.3, 0.15, 0.1, 0.05])
LOGITS = np.log(PROBS).astype(np.float32)


def draw(sampler, logits, n=20000):
    counts = np.zeros(len(logits), dtype=np.int64)
    for _ in range(n):
        counts[sampler(logits)] += 1
    return counts


def check_frequencies(counts, expected):
    """The support is exactly where `expected` > 0, and a chi-square statistic is small (df <= 4,
    bound 25: a false alarm has probability < 1e-4; the draws are seeded anyway)."""
    n = counts.sum()
    assert set(np.flatnonzero(counts)) == set(np.flatnonzero(expected))
    support = expected > 0
    chi2 = (((counts - n * expected) ** 2)[support] / (n * expected[support])).sum()
    assert chi2 < 25, (counts, expected)


def renormalized(keep):
    p = np.where(keep, PROBS, 0.0)
    return p / p.sum()


def test_seeded_runs_are_identical_and_seeds_differ():
    s1, s2, s3 = Sampler(seed=7), Sampler(seed=7), Sampler(seed=8)
    a = [s1(LOGITS) for _ in range(200)]
    assert a == [s2(LOGITS) for _ in range(200)]
    assert a != [s3(LOGITS) for _ in range(200)]


@pytest.mark.parametrize("temperature", [0, 0.0, None])
def test_greedy_is_argmax(temperature):
    rng = np.random.default_rng(0)
    s = Sampler(temperature=temperature, top_k=3, top_p=0.1, seed=0)
    for _ in range(50):
        logits = rng.standard_normal(100).astype(np.float32)
        assert s(logits) == int(np.argmax(logits))
    assert s.probabilities(LOGITS).tolist() == [1.0, 0, 0, 0, 0]


def test_plain_sampling_follows_softmax():
    check_frequencies(draw(Sampler(seed=1), LOGITS), PROBS)


@pytest.mark.parametrize("k, keep", [(1, [1, 0, 0, 0, 0]), (2, [1, 1, 0, 0, 0]), (4, [1, 1, 1, 1, 0]),
                                     (5, [1] * 5), (50, [1] * 5)])
def test_top_k(k, keep):
    s = Sampler(top_k=k, seed=2)
    np.testing.assert_allclose(s.probabilities(LOGITS), renormalized(np.array(keep, bool)), rtol=1e-6)
    check_frequencies(draw(s, LOGITS), renormalized(np.array(keep, bool)))


@pytest.mark.parametrize("p, keep", [(0.39, [1, 0, 0, 0, 0]), (0.5, [1, 1, 0, 0, 0]), (0.8, [1, 1, 1, 0, 0]),
                                     (0.9, [1, 1, 1, 1, 0]), (1.0, [1] * 5)])
def test_top_p(p, keep):
    s = Sampler(top_p=p, seed=3)
    np.testing.assert_allclose(s.probabilities(LOGITS), renormalized(np.array(keep, bool)), rtol=1e-6)
    check_frequencies(draw(s, LOGITS), renormalized(np.array(keep, bool)))


@pytest.mark.parametrize("m, keep", [(0.3, [1, 1, 1, 0, 0]), (0.5, [1, 1, 0, 0, 0]), (0.2, [1, 1, 1, 1, 0]),
                                     (0.9, [1, 0, 0, 0, 0])])
def test_min_p(m, keep):
    s = Sampler(min_p=m, seed=4)
    check_frequencies(draw(s, LOGITS), renormalized(np.array(keep, bool)))


def test_filters_chain_in_order_then_temperature():
    # top-k 4 drops 0.05; top-p 0.8 of the renormalised rest keeps 0.4, 0.3, 0.15 (cumulative 0.82...);
    # min-p 0.3 then drops nothing (0.15 >= 0.3 * 0.4); temperature 2 flattens what is left.
    s = Sampler(temperature=2.0, top_k=4, top_p=0.8, min_p=0.3, seed=5)
    kept = np.sqrt(PROBS[:3])
    expected = np.concatenate([kept / kept.sum(), [0, 0]])
    np.testing.assert_allclose(s.probabilities(LOGITS), expected, rtol=1e-6)
    check_frequencies(draw(s, LOGITS), expected)


def test_temperature():
    for t in (0.25, 0.5, 2.0, 10.0):
        p = np.exp(LOGITS / t) / np.exp(LOGITS / t).sum()
        np.testing.assert_allclose(Sampler(temperature=t).probabilities(LOGITS), p, rtol=1e-5)
    entropy = [(-p * np.log(p)).sum() for p in (Sampler(temperature=t).probabilities(LOGITS) for t in (0.5, 1, 2))]
    assert entropy[0] < entropy[1] < entropy[2]


def test_repeat_penalty_math():
    logits = np.array([2.0, -2.0, 1.0, 0.5, -1.0], dtype=np.float32)
    s = Sampler(repeat_penalty=2.0)
    np.testing.assert_array_equal(s.penalize(logits, [0, 1, 1, 4]), [1.0, -4.0, 1.0, 0.5, -2.0])
    np.testing.assert_array_equal(Sampler(repeat_penalty=2.0, repeat_last_n=2).penalize(logits, [0, 1, 4]),
                                  [2.0, -4.0, 1.0, 0.5, -2.0])
    np.testing.assert_array_equal(Sampler().penalize(logits, [0, 1]), logits)
    assert Sampler(temperature=0, repeat_penalty=4.0)(logits, [0]) == 2  # 2/4 < 1: the argmax moves
    np.testing.assert_array_equal(logits, [2.0, -2.0, 1.0, 0.5, -1.0])  # the input is not modified


def test_sampler_rejects_bad_settings():
    for kw in ({"temperature": -1}, {"top_p": -0.1}, {"min_p": -1}, {"repeat_penalty": 0}, {"top_k": -2}):
        with pytest.raises(ValueError):
            Sampler(**kw)


# ---------------------------------------------------------------------------------------------
# generate / stream with a fake model

VOCAB = ["<eos>", "a", "b", "c", "S", "T", "O", "P", "x", "é", " ", "end"]


class FakeModel:
    """Next token = `table[last token]` (else last + 1, wrapping), as a one-hot logit row."""

    def __init__(self, table=None, max_cache_len=4096, eos=0):
        self.table, self.max_cache_len = table or {}, max_cache_len
        self.config = SimpleNamespace(eos_token_id=eos, vocab_size=len(VOCAB))
        self.calls, self.resets, self.tokenizer = [], 0, None

    def reset(self):
        self.resets += 1
        self.calls = []

    def __call__(self, ids, start_pos=0, last_only=False):
        ids = ids.numpy()
        assert ids.shape[0] == 1 and last_only
        end = start_pos + ids.shape[1]
        if end > self.max_cache_len:
            raise ValueError("cache full")
        self.calls.append((start_pos, ids.shape[1]))
        last = int(ids[0, -1])
        logits = np.full((1, 1, len(VOCAB)), -5.0, dtype=np.float32)
        logits[0, 0, self.table.get(last, (last + 1) % len(VOCAB))] = 5.0
        return ember.from_numpy(logits)


class FakeTokenizer:
    eos_token_ids = (11,)
    byte_token_ids = frozenset()

    def decode(self, ids, skip_special_tokens=True):
        return "".join(VOCAB[i] for i in ids if not (skip_special_tokens and i == 0))

    def stream_decoder(self):
        return StreamDecoder(self)


def test_generate_greedy_and_max_new_tokens():
    model = FakeModel(eos=None)
    stats = GenerationStats()
    out = generate(model, [1], max_new_tokens=5, temperature=0, stats=stats)
    assert out == [2, 3, 4, 5, 6]
    assert stats.stop_reason == "max_new_tokens" and stats.generated_tokens == 5 and stats.prompt_tokens == 1
    assert model.resets == 1 and model.calls == [(0, 1), (1, 1), (2, 1), (3, 1), (4, 1)]
    assert stats.prompt_seconds >= 0 and stats.generate_seconds > 0 and stats.generate_tokens_per_second > 0
    assert generate(model, np.array([[1]]), max_new_tokens=2, temperature=0) == [2, 3]
    assert generate(model, [1], max_new_tokens=0) == []


def test_generate_stops_on_stop_ids():
    model = FakeModel(table={3: 0})  # ... c -> <eos>
    stats = GenerationStats()
    assert generate(model, [1], temperature=0, stats=stats) == [2, 3]
    assert stats.stop_reason == "stop_id" and stats.generated_tokens == 3
    assert generate(model, [1], temperature=0, stop_ids=[2]) == []
    assert generate(model, [1], temperature=0, stop_ids=5, max_new_tokens=20) == [2, 3, 0, 1, 2, 3, 0, 1, 2, 3,
                                                                                   0, 1, 2, 3, 0, 1, 2, 3, 0, 1]
    model.config.eos_token_id = [2, 3]
    assert generate(model, [1], temperature=0) == []
    model.config.eos_token_id, model.tokenizer = None, FakeTokenizer()
    assert generate(model, [9], temperature=0) == [10]  # the tokenizer's eos (11)


def test_prompt_runs_in_chunks():
    model = FakeModel(eos=None)
    n = 2 * PROMPT_CHUNK + 176
    prompt = [1] * (n - 1) + [5]
    assert generate(model, prompt, max_new_tokens=3, temperature=0) == [6, 7, 8]
    assert model.calls == [(0, 512), (512, 512), (1024, 176), (n, 1), (n + 1, 1)]
    model.calls = []
    generate(model, [1] * PROMPT_CHUNK, max_new_tokens=1)
    assert model.calls == [(0, PROMPT_CHUNK)]


def test_cache_limits():
    model = FakeModel(max_cache_len=8, eos=None)
    with pytest.raises(ValueError, match="9 tokens.*8 positions"):
        generate(model, [1] * 9)
    with pytest.raises(ValueError, match="empty"):
        generate(model, [])
    stats = GenerationStats()
    assert generate(model, [1] * 8, temperature=0, stats=stats) == [2]  # from the prompt's logits; no room after
    assert stats.stop_reason == "cache_full"
    out = generate(model, [1] * 5, temperature=0, max_new_tokens=100, stats=stats)
    assert out == [2, 3, 4, 5] and stats.stop_reason == "cache_full"
    assert max(s + n for s, n in model.calls) == 8


def test_seeded_generate_is_reproducible():
    class Noisy(FakeModel):
        def __call__(self, ids, start_pos=0, last_only=False):
            super().__call__(ids, start_pos, last_only)
            return ember.from_numpy(np.zeros((1, 1, len(VOCAB)), dtype=np.float32))

    a = generate(Noisy(eos=None), [1], max_new_tokens=30, seed=123)
    assert a == generate(Noisy(eos=None), [1], max_new_tokens=30, seed=123)
    assert a != generate(Noisy(eos=None), [1], max_new_tokens=30, seed=124)
    assert len(set(a)) > 3


def run_stream(table, prompt, **kw):
    model = FakeModel(table=table, eos=None)
    stats = GenerationStats()
    pieces = list(stream(model, FakeTokenizer(), prompt, temperature=0, stats=stats, **kw))
    return pieces, stats


def test_stream_text_and_stop_ids():
    pieces, stats = run_stream({3: 11}, [1])  # b c end
    assert pieces == ["b", "c"] and stats.stop_reason == "stop_id"
    pieces, stats = run_stream({}, [1], max_new_tokens=3)
    assert "".join(pieces) == "bcS" and stats.stop_reason == "max_new_tokens"


def test_stream_stop_strings_hold_back_text():
    # a -> b -> c -> S -> T -> O -> P -> x ...: "bcSTOPx"
    pieces, stats = run_stream({}, [1], stop=["STOP"])
    assert pieces == ["b", "c"] and stats.stop_reason == "stop_string"
    # "ST" might begin "STX" until "O" arrives; then it is text
    pieces, stats = run_stream({7: 11}, [1], stop=["STX"])
    assert pieces == ["b", "c", "STO", "P"] and stats.stop_reason == "stop_id"
    pieces, _ = run_stream({}, [1], stop=["x", "TO"])
    assert pieces == ["b", "c", "S"]
    pieces, _ = run_stream({5: 11}, [1], stop=["TOP"])  # ends holding "T": flushed at the end
    assert pieces == ["b", "c", "S", "T"]
    pieces, _ = run_stream({}, [1], stop=["cS"], max_new_tokens=50)
    assert pieces == ["b"]
    pieces, _ = run_stream({1: 9}, [1], stop=["éx"], max_new_tokens=3)  # é, " ", end
    assert "".join(pieces) == "é "


def test_stream_requires_a_tokenizer():
    with pytest.raises(ValueError, match="tokenizer"):
        list(stream(FakeModel(), None, [1]))
    model = FakeModel(table={2: 0})
    model.tokenizer = FakeTokenizer()
    assert list(stream(model, None, [1], temperature=0)) == ["b"]


def test_stats_rates():
    s = GenerationStats(prompt_tokens=10, prompt_seconds=0.5, generated_tokens=4, generate_seconds=2.0)
    assert s.prompt_tokens_per_second == 20 and s.generate_tokens_per_second == 2
    assert math.isnan(GenerationStats().generate_tokens_per_second)


@pytest.mark.parametrize("scale", [1.0, 8.0])  # flat: sorts everything; peaky: the largest 256 cover top_p
def test_top_p_on_a_large_vocabulary(scale):
    logits = (np.random.default_rng(0).standard_normal(5000) * scale).astype(np.float32)
    p = np.exp(logits.astype(np.float64) - logits.max())
    p /= p.sum()
    order = np.argsort(-p, kind="stable")
    keep = order[: int(np.searchsorted(np.cumsum(p[order]), 0.9)) + 1]
    expected = np.zeros_like(p)
    expected[keep] = p[keep] / p[keep].sum()
    np.testing.assert_allclose(Sampler(top_p=0.9).probabilities(logits), expected, rtol=1e-9, atol=1e-15)
