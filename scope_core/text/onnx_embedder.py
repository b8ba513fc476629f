"""The default embedder's fast path: a sentence-transformers folder run through ONNX Runtime.

The model is exported to ONNX once per machine (about 2 s, with torch, transformers and onnx, all
local) and kept under the embedding cache folder; afterwards a query needs only ``tokenizers`` and
``onnxruntime``, and embeds in 5-8 ms instead of 17-23 ms through torch on a 2-core machine.
The vectors match sentence-transformers' (cosine >= 0.99999).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scope_core.errors import EmbedderUnavailableError

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_MEAN_NORMALISED = [
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
]


class OnnxSentenceEmbedder:
    """A mean-pooled, normalised sentence-transformers model (e.g. all-MiniLM-L6-v2) on ONNX Runtime."""

    def __init__(self, model_path: Path, cache_dir: Path, name: str, batch_size: int = 64) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        _check_mean_pooled(model_path)
        onnx_file = export_onnx(model_path, cache_dir, name)
        options = ort.SessionOptions()
        options.intra_op_num_threads = min(os.cpu_count() or 1, 4)
        options.inter_op_num_threads = 1
        # Without spinning, a query stays fast when the other cores are busy (5.8 ms vs 8.5 ms p50 here).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self._tokenizer.enable_truncation(_max_seq_length(model_path))
        self._tokenizer.enable_padding()
        self._batch_size = batch_size
        self.name = name
        self.dimension = int(self._session.get_outputs()[0].shape[-1] or self.embed(["dimension probe"]).shape[1])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sort by length so each batch pads little, as sentence-transformers does.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self._batch_size):
            chunk = order[start : start + self._batch_size]
            out[chunk] = self._embed_batch([texts[i] for i in chunk])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def export_onnx(model_path: Path, cache_dir: Path, name: str) -> Path:
    """The ONNX file for this model folder, exported on first use; keyed by a hash of the weights."""
    weights = model_path / "model.safetensors"
    if not weights.is_file():
        raise EmbedderUnavailableError(f"no model.safetensors in {model_path}")
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
    target = cache_dir / "onnx" / f"{name}-{digest}.onnx"
    if target.is_file():
        return target
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise EmbedderUnavailableError(f"exporting {name} to ONNX needs torch, transformers and onnx") from exc

    class _LastHiddenState(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a one-off export: no "Loading weights" bar in a log
    model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    sample = torch.ones(1, 8, dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
    # Export beside the target and rename: concurrent processes never read a half-written file.
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        partial = Path(tmp) / target.name
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about shapes fixed by the sample input
            torch.onnx.export(
                _LastHiddenState(model),
                (sample, sample, torch.zeros_like(sample)),
                str(partial),
                input_names=list(_INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        os.replace(partial, target)
    return target


def _check_mean_pooled(model_path: Path) -> None:
    modules = json.loads((model_path / "modules.json").read_text())
    pooling = json.loads((model_path / "1_Pooling" / "config.json").read_text())
    if [m["type"] for m in modules] != _MEAN_NORMALISED or not pooling.get("pooling_mode_mean_tokens"):
        raise EmbedderUnavailableError(f"{model_path.name} is not a mean-pooled, normalised model")


def _max_seq_length(model_path: Path) -> int:
    config = model_path / "sentence_bert_config.json"
    return int(json.loads(config.read_text()).get("max_seq_length", 512)) if config.is_file() else 512
