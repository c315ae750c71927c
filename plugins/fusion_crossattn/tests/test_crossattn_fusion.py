"""The ``cross_attention`` fusion: the contract kit on itself plus masking specifics."""

from __future__ import annotations

import pytest
import torch
from chroma_fusion_crossattn.fusion import CrossAttentionFusion
from chroma_fusion_crossattn.plugin import CrossAttentionFusionConfig, chroma_plugins
from pydantic import ValidationError

from chroma import FusionDims
from chroma.modality import modality_index
from chroma.testing import check_plugin, parametrize_with_contract
from chroma.testing.targets import target_from_spec

SPEC = chroma_plugins()[0]
DIMS = {"text": 6, "audio": 4, "midi": 5}
SEQ_DIMS = {"audio": 3, "midi": 7}
CONFIG = CrossAttentionFusionConfig(dim=8, attention_heads=2, dropout=0.0)


@parametrize_with_contract([SPEC])
def test_crossattn_fusion_contract(plugin, check):
    check(plugin)


def _fusion() -> CrossAttentionFusion:
    torch.manual_seed(0)
    return CrossAttentionFusion(CONFIG, FusionDims(DIMS, 5, SEQ_DIMS)).eval()


def _sequences(batch: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    audio_valid = torch.tensor([[True, True, False, False]] * batch)
    midi_valid = torch.tensor([[True, False, False]] * batch)
    return {
        "audio": (torch.randn(batch, 4, 3), audio_valid),
        "midi": (torch.randn(batch, 3, 7), midi_valid),
    }


def test_attention_masks_own_modality_padding_and_absent_sequences():
    fusion = _fusion()
    mask = torch.tensor([[True, True, True], [True, False, True]])
    emb = {m: torch.randn(2, d) for m, d in DIMS.items()}
    with torch.no_grad():
        attention = fusion(emb, mask, _sequences(2)).weights["attention"]
    # keys: 3 pooled tokens, 4 audio positions, 3 midi positions
    assert attention.shape == (2, 2, 3, 3 + 4 + 3)
    owners = torch.tensor([0, 1, 2] + [1] * 4 + [2] * 3)
    for query in range(3):
        assert (attention[:, :, query, owners == query] == 0).all()  # never attends to itself
    assert (attention[:, :, :, [5, 6, 8, 9]] == 0).all()  # padded positions
    assert (attention[1, :, :, 3:7] == 0).all()  # absent audio: its whole sequence
    assert (attention[1, :, [0, 2], 1] > 0).all()  # ...but its null pooled token stays attendable
    assert torch.allclose(attention.sum(-1), torch.ones(2, 2, 3))


def test_single_configured_modality_attends_to_itself():
    fusion = CrossAttentionFusion(CONFIG, FusionDims({"midi": 5}, 4, {"midi": 7})).eval()
    out = fusion({"midi": torch.randn(2, 5)}, torch.tensor([[False, False, True], [False, False, False]]))
    assert out.hidden.shape == (2, 4) and torch.isfinite(out.hidden).all()


def test_sequence_for_undeclared_modality_is_a_clear_error():
    fusion = CrossAttentionFusion(CONFIG, FusionDims(DIMS, 5, {"audio": 3}))
    seq = {"midi": (torch.randn(1, 2, 7), torch.ones(1, 2, dtype=torch.bool))}
    with pytest.raises(ValueError, match="midi sequence but sequence_dims has no 'midi'"):
        fusion({m: torch.randn(1, d) for m, d in DIMS.items()}, torch.ones(1, 3, dtype=torch.bool), seq)
    wrong = {"audio": (torch.randn(1, 2, 9), torch.ones(1, 2, dtype=torch.bool))}
    with pytest.raises(ValueError, match=r"audio sequence must be \[batch, T, 3\]"):
        fusion({m: torch.randn(1, d) for m, d in DIMS.items()}, torch.ones(1, 3, dtype=torch.bool), wrong)


class MaskedPooledTokens(CrossAttentionFusion):
    """The naive design: absent modalities' pooled tokens are masked too."""

    def _tokens(self, embeddings, sequences):
        pooled, keys, ignore, owners = super()._tokens(embeddings, sequences)
        absent = torch.stack([~self._mask[:, modality_index(m)] for m in self.input_dims], dim=1)
        return pooled, keys, torch.cat([absent, ignore[:, absent.shape[1] :]], dim=1), owners

    def fuse(self, embeddings, modality_mask, sequences):
        self._mask = modality_mask
        return super().fuse(embeddings, modality_mask, sequences)


def test_masking_absent_pooled_tokens_would_nan_and_the_kit_sees_it():
    """Why the null pooled token stays attendable: with one modality present every key is masked."""
    target = target_from_spec(SPEC)
    from dataclasses import replace

    naive = replace(target, factory=lambda cfg, **kw: MaskedPooledTokens(cfg, **kw))
    failures = {r.check for r in check_plugin(naive, on_fail=None).failures}
    assert "check_fusion_finite_every_mask_pattern" in failures


@pytest.mark.parametrize("options", [{"dim": 10, "attention_heads": 4}, {"layers": 0}, {"dropout": -0.1}, {"heads": 2}])
def test_bad_options_are_rejected(options):
    with pytest.raises(ValidationError):
        SPEC.parse_config(options)
