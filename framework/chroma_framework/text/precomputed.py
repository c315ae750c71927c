"""Pass-through text encoder for lyric vectors precomputed in the metadata parquet."""

from __future__ import annotations

from chroma.contracts import Encoder, EncoderOutput, TextBatch
from chroma_framework.text.config import PrecomputedTextConfig


class PrecomputedTextEncoder(Encoder):
    """Returns ``TextBatch.embeddings`` ``[B, dim]`` unchanged (as float32); no weights."""

    name = "precomputed"
    version = "1"
    modality = "text"

    def __init__(self, config: PrecomputedTextConfig) -> None:
        super().__init__()
        self.config = config
        self.output_dim = config.dim

    def forward(self, batch: TextBatch) -> EncoderOutput:
        """``pooled`` = ``batch.embeddings`` ``[B, dim]``."""
        emb = batch.embeddings
        if emb is None:
            raise ValueError(
                "text encoder 'precomputed' needs TextBatch.embeddings; set data.columns.lyric_embedding "
                "to the column holding the precomputed vectors"
            )
        if emb.dim() != 2 or emb.shape[1] != self.output_dim:
            raise ValueError(
                f"text encoder 'precomputed': embeddings must be [batch, {self.output_dim}], got {tuple(emb.shape)}"
            )
        return EncoderOutput(pooled=emb.float())
