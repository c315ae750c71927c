"""Hugging Face text encoder: AutoTokenizer + AutoModel, masked mean pooling."""

from __future__ import annotations

import torch

from chroma import Encoder, EncoderOutput, TextBatch, masked_mean
from chroma.pretrained import load_pretrained, weights_identity
from chroma_text_hf.plugin import HFTextConfig

_SAVE_HINT = (
    "AutoModel.from_pretrained(NAME).save_pretrained(DIR); AutoTokenizer.from_pretrained(NAME).save_pretrained(DIR)"
)


class HFTextEncoder(Encoder):
    """Lyrics -> ``[B, hidden_size]`` by masked mean pooling of the last hidden state.

    Works with DeBERTa-v3 (the default, 768-d) or any ``AutoModel`` checkpoint
    directory. Rows whose text is ``""`` (absent lyrics) are not run through the
    model and get zero vectors.
    """

    name = "hf_text"
    version = "1"
    modality = "text"

    def __init__(self, config: HFTextConfig) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        self.config = config
        common = {
            "revision": config.revision,
            "local_files_only": config.local_files_only,
            "plugin": self.name,
            "section": "model.text_encoder",
            "option": "model_name",
            "save_hint": _SAVE_HINT,
        }
        self.tokenizer = load_pretrained(AutoTokenizer.from_pretrained, config.model_name, **common)
        self.model = load_pretrained(AutoModel.from_pretrained, config.model_name, **common)
        self.output_dim = int(self.model.config.hidden_size)
        self.returns_sequence = config.return_sequence
        self._digest: str | None = None

    def fingerprint_extra(self) -> str:
        """Content hash of a local model directory, else the resolved hub commit (or the name)."""
        if self._digest is None:
            self._digest = weights_identity(self.config.model_name, self.model, self.config.revision)
        return self._digest

    def forward(self, batch: TextBatch) -> EncoderOutput:
        """Encode ``batch.texts`` (``B`` strings).

        Returns:
            ``pooled`` ``[B, hidden_size]``; with ``return_sequence`` also ``sequence``
            ``[B, T, hidden_size]`` and ``sequence_mask`` ``[B, T]``.
        """
        if batch.texts is None:
            raise ValueError("text encoder hf_text needs TextBatch.texts (got None)")
        texts = list(batch.texts)
        device = next(self.model.parameters()).device
        rows = [i for i, t in enumerate(texts) if t]
        pooled = torch.zeros(len(texts), self.output_dim, device=device)
        seq = seq_mask = None
        if rows:
            enc = self.tokenizer(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=self.config.max_length,
                return_tensors="pt",
            ).to(device)
            hidden = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].bool()
            index = torch.tensor(rows, device=device)
            pooled = pooled.index_copy(0, index, masked_mean(hidden, mask.bool()).to(pooled.dtype))
            if self.config.return_sequence:
                seq = hidden.new_zeros(len(texts), hidden.shape[1], hidden.shape[2]).index_copy(0, index, hidden)
                seq_mask = torch.zeros(len(texts), hidden.shape[1], dtype=torch.bool, device=device)
                seq_mask = seq_mask.index_copy(0, index, mask)
        elif self.config.return_sequence:
            seq = pooled.new_zeros(len(texts), 1, self.output_dim)
            seq_mask = torch.zeros(len(texts), 1, dtype=torch.bool, device=device)
        return EncoderOutput(pooled=pooled, sequence=seq, sequence_mask=seq_mask)
