"""Core text encoders: hf_text on a tiny saved DeBERTa-v3-style model, and precomputed."""

from __future__ import annotations

import pytest
import torch
from chroma_text_hf.tiny import save_tiny_deberta

from chroma.contracts import TextBatch
from chroma.plugins.registry import get_registry
from chroma.pretrained import PretrainedWeightsError, hub_reachable


@pytest.fixture(scope="module")
def tiny_deberta(tmp_path_factory):
    return save_tiny_deberta(tmp_path_factory.mktemp("deberta"))


def _build(path, **options):
    return get_registry().build_encoder("text_encoder", "hf_text", {"model_name": str(path), **options}).eval()


def test_text_plugins_are_registered_by_their_distributions():
    records = {(r.kind, r.name): r for r in get_registry().records()}
    for name, dist in (("hf_text", "chroma-text-hf"), ("precomputed", "chroma-framework")):
        rec = records[("text_encoder", name)]
        assert rec.status == "active" and rec.distribution == dist


def test_hf_text_mean_pools_over_the_attention_mask(tiny_deberta):
    enc = _build(tiny_deberta)
    assert enc.output_dim == 32 and enc.modality == "text"
    texts = ["we were the light yesterday", "", "love now"]
    with torch.no_grad():
        out = enc(TextBatch(texts=texts))
        assert out.pooled.shape == (3, 32) and out.sequence is None
        assert torch.all(out.pooled[1] == 0)  # absent lyrics are not encoded
        tokens = enc.tokenizer(texts[2], return_tensors="pt")
        manual = enc.model(**tokens).last_hidden_state.mean(dim=1)[0]
        torch.testing.assert_close(out.pooled[2], manual, atol=1e-5, rtol=1e-5)
        alone = enc(TextBatch(texts=["love now"])).pooled[0]
        torch.testing.assert_close(alone, out.pooled[2], atol=1e-5, rtol=1e-5)  # padding does not leak


def test_hf_text_sequence_option_and_fingerprint(tiny_deberta, tmp_path):
    enc = _build(tiny_deberta, return_sequence=True)
    with torch.no_grad():
        out = enc(TextBatch(texts=["love", "", "the song we will"]))
    assert enc.returns_sequence
    assert out.sequence.shape[:2] == out.sequence_mask.shape and out.sequence.shape[2] == 32
    assert not out.sequence_mask[1].any() and out.sequence_mask[2].sum() > out.sequence_mask[0].sum()
    fp = enc.fingerprint_extra()
    assert fp.startswith("sha256:") and fp == _build(tiny_deberta).fingerprint_extra()
    # Different weights in another directory -> a different fingerprint.
    other = tmp_path / "other"
    enc.model.embeddings.word_embeddings.weight.data.add_(1.0)
    enc.model.save_pretrained(other)
    enc.tokenizer.save_pretrained(other)
    assert _build(other).fingerprint_extra() != fp


def test_hf_text_offline_hub_name_fails_clearly():
    with pytest.raises(PretrainedWeightsError, match="text encoder hf_text: cannot load pretrained weights") as info:
        _build("no-such-org/no-such-model", local_files_only=True)
    assert "set `model_name: <that directory>` under model.text_encoder" in str(info.value)


def test_unreachable_hub_fails_at_once_without_the_clients_retries(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port on loopback: connection refused
    assert not hub_reachable()
    with pytest.raises(PretrainedWeightsError, match="the hub cannot be reached from this machine"):
        _build("no-such-org/no-such-model")


def test_precomputed_passes_embeddings_through():
    enc = get_registry().build_encoder("text_encoder", "precomputed", {"dim": 4})
    emb = torch.randn(3, 4, dtype=torch.float16)
    out = enc(TextBatch(texts=None, embeddings=emb))
    assert out.pooled.dtype == torch.float32
    torch.testing.assert_close(out.pooled, emb.float())
    with pytest.raises(ValueError, match="lyric_embedding"):
        enc(TextBatch(texts=["a"]))
    with pytest.raises(ValueError, match=r"\[batch, 4\]"):
        enc(TextBatch(embeddings=torch.zeros(2, 5)))
