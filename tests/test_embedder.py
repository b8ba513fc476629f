"""Embedders: the offline MiniLM default, wrappers, and caches."""

from __future__ import annotations

import numpy as np
import pytest

from scope_core import CachedEmbedder, EmbedderUnavailableError, SentenceTransformerEmbedder, as_embedder


def test_default_embedder_is_normalised_and_semantic(embedder):
    v = embedder.embed(["How do I bake bread?", "Bread baking instructions", "Stock market news today"])
    assert v.shape == (3, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_callable_and_langchain_style_embedders_are_wrapped():
    calls: list[list[str]] = []

    def fn(texts):
        calls.append(texts)
        return [[len(t), 1.0, 0.0] for t in texts]

    class LangChainLike:
        def embed_documents(self, texts):
            return fn(texts)

    for source in (fn, LangChainLike()):
        e = as_embedder(source)
        assert e.dimension == 3
        assert np.allclose(np.linalg.norm(e.embed(["abc"]), axis=1), 1.0)


def test_lru_and_disk_caches_skip_repeated_work(tmp_path):
    class Counting:
        name, dimension = "counting", 2

        def __init__(self):
            self.seen = 0

        def embed(self, texts):
            self.seen += len(texts)
            return np.asarray([[1.0, float(len(t))] for t in texts], dtype=np.float32)

    inner = Counting()
    cached = CachedEmbedder(inner, path=tmp_path)
    first = cached.embed(["a", "bb", "a"])
    assert inner.seen == 3
    seen = inner.seen
    assert np.array_equal(cached.embed(["bb", "a"]), first[[1, 0]]) and inner.seen == seen
    fresh = CachedEmbedder(inner, path=tmp_path)  # a new process: the disk cache answers
    fresh.embed(["a", "bb"])
    assert inner.seen == seen


def test_missing_model_folder_is_a_clear_error_not_a_download(tmp_path):
    with pytest.raises(EmbedderUnavailableError, match="nothing is downloaded"):
        SentenceTransformerEmbedder(tmp_path / "absent")


def test_onnx_default_gives_sentence_transformers_vectors(embedder):
    from scope_core.text.onnx_embedder import OnnxSentenceEmbedder

    assert isinstance(embedder.inner, OnnxSentenceEmbedder)
    texts = ["hi", "Compute the integral of x^2 sin(x) " * 60, "Which is larger, 9.11 or 9.9?", "ok " * 5]
    reference = SentenceTransformerEmbedder().embed(texts)
    got = embedder.inner.embed(texts)  # mixed lengths: batched by length, returned in input order
    assert got.shape == (4, 384)
    assert np.all(np.sum(got * reference, axis=1) > 0.9999)
    assert embedder.inner.embed([]).shape == (0, 384)


def test_onnx_export_is_done_once_per_machine(embedder, tmp_path):
    from scope_core.text.embedder import DEFAULT_CACHE_DIR, minilm_path
    from scope_core.text.onnx_embedder import export_onnx

    first = export_onnx(minilm_path(), DEFAULT_CACHE_DIR, "all-MiniLM-L6-v2")
    stamp = first.stat().st_mtime_ns
    assert export_onnx(minilm_path(), DEFAULT_CACHE_DIR, "all-MiniLM-L6-v2") == first
    assert first.stat().st_mtime_ns == stamp and not list(first.parent.glob("tmp*"))


def test_failed_onnx_falls_back_to_sentence_transformers(monkeypatch, caplog):
    from scope_core.text import embedder as module

    def broken(*args, **kwargs):
        raise RuntimeError("onnxruntime missing")

    monkeypatch.setattr(module, "OnnxSentenceEmbedder", broken)
    fallback = module.minilm_embedder()
    assert isinstance(fallback, SentenceTransformerEmbedder) and fallback.name == "all-MiniLM-L6-v2"
    assert "onnxruntime missing" in caplog.text


def test_onnx_refuses_a_model_it_would_pool_wrongly(tmp_path):
    from scope_core.text.onnx_embedder import OnnxSentenceEmbedder

    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text('[{"type": "sentence_transformers.models.Transformer"}]')
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}')
    with pytest.raises(EmbedderUnavailableError, match="not a mean-pooled"):
        OnnxSentenceEmbedder(tmp_path, tmp_path, name="cls-model")
