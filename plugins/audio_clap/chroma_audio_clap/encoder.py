"""The ``clap`` audio encoder: CLAP's audio tower on our own batched, deterministic log-mel.

Input path. The stock ``ClapFeatureExtractor`` works sample by sample in numpy
and crops audio longer than its 10 s window at random (``np.random``), and in
fusion mode flags a random item ``is_longer``. Here the same features are
computed in torch for the whole batch, with the extractor's own settings
(48 kHz, 1024-point FFT, hop 480, 64 mel bands up to 14 kHz, dB):

* unfused checkpoints (``enable_fusion=False``, e.g. ``laion/larger_clap_music``):
  Slaney mel filters, one channel, as the extractor's ``rand_trunc`` mode;
* fused checkpoints: HTK filters, the mel repeated on 4 channels, as its
  ``fusion`` mode for audio that fits one window; ``is_longer`` is always False,
  so the model reads the global mel only.

Window rule. A row's valid audio (``lengths``) up to one window long is one
window; longer audio is cut into consecutive non-overlapping windows, and a
trailing remainder shorter than ``min_last_window_seconds`` (1 s) is dropped.
A window shorter than the window length is "repeat-padded" like the extractor
does (tiled whole, then zero-padded). The row's embedding is the mean of its
L2-normalised window embeddings, normalised again. Rows of length 0 give zeros.
For audio up to 10 s this equals ``ClapModel.get_audio_features`` on the stock
extractor's ``rand_trunc`` output.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from chroma import AudioBatch, Encoder, EncoderOutput
from chroma.dsp import MelSpectrogram, resample_batch
from chroma.pretrained import load_pretrained, weights_identity
from chroma_audio_clap.plugin import ClapAudioConfig

_SAVE_HINT = "ClapModel.from_pretrained(NAME).save_pretrained(DIR); ClapFeatureExtractor.from_pretrained(NAME).save_pretrained(DIR)"
#: Channels the fused HTSAT input expects (global mel + three local crops).
_FUSION_CHANNELS = 4


class ClapAudioEncoder(Encoder):
    """Waveform ``[B, S]`` at 48 kHz -> ``pooled [B, projection_dim]`` (unit norm, 512 for LAION checkpoints)."""

    name = "clap"
    version = "1"
    modality = "audio"
    returns_sequence = False

    def __init__(self, config: ClapAudioConfig) -> None:
        super().__init__()
        from transformers import ClapAudioModelWithProjection, ClapFeatureExtractor
        from transformers.utils import logging as hf_logging

        self.config = config
        common = {
            "revision": config.revision,
            "local_files_only": config.local_files_only,
            "plugin": self.name,
            "section": "model.audio_encoder",
            "option": "pretrained_model",
            "save_hint": _SAVE_HINT,
        }
        extractor = load_pretrained(ClapFeatureExtractor.from_pretrained, config.pretrained_model, **common)
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # the text tower's weights are skipped on purpose; no load report
        try:
            self.model = load_pretrained(
                ClapAudioModelWithProjection.from_pretrained, config.pretrained_model, **common
            )
        finally:
            hf_logging.set_verbosity(verbosity)
        self.fused = bool(self.model.config.enable_fusion)
        self.sample_rate = int(extractor.sampling_rate)
        self.output_dim = int(self.model.config.projection_dim)
        max_seconds = float(extractor.max_length_s)
        seconds = max_seconds if config.window_seconds is None else config.window_seconds
        if seconds > max_seconds:
            raise ValueError(
                f"audio encoder clap: window_seconds={seconds} exceeds the checkpoint's {max_seconds} s input window"
            )
        self.window = round(seconds * self.sample_rate)
        self.min_last = round(config.min_last_window_seconds * self.sample_rate)
        self.mel = MelSpectrogram(
            sample_rate=self.sample_rate,
            n_fft=int(extractor.fft_window_size),
            hop_length=int(extractor.hop_length),
            f_min=float(extractor.frequency_min),
            f_max=float(extractor.frequency_max),
            n_mels=int(extractor.feature_size),
            norm=None if self.fused else "slaney",
            mel_scale="htk" if self.fused else "slaney",
            output="db",
        )
        self._identity: str | None = None

    def fingerprint_extra(self) -> str:
        """sha256 of a local checkpoint directory, else ``name@commit``."""
        if self._identity is None:
            self._identity = weights_identity(self.config.pretrained_model, self.model, self.config.revision)
        return self._identity

    def windows(self, batch: AudioBatch) -> tuple[Tensor, Tensor]:
        """Cut each row's valid audio into model windows (see the module docstring).

        Args:
            batch: audio at :attr:`sample_rate`.

        Returns:
            ``(windows [W, window], owner [W])``: repeat-padded windows and the row each came from.
        """
        pieces: list[Tensor] = []
        rows: list[int] = []
        width = batch.waveform.shape[-1]
        for row, length in enumerate(batch.lengths.clamp(0, width).tolist()):
            for start in range(0, length, self.window):
                size = min(self.window, length - start)
                if start > 0 and size < max(self.min_last, 1):
                    break
                piece = batch.waveform[row, start : start + size]
                if size < self.window:  # whole repeats, then zeros
                    piece = F.pad(piece.repeat(self.window // size), (0, self.window % size))
                pieces.append(piece)
                rows.append(row)
        owner = torch.tensor(rows, dtype=torch.long, device=batch.waveform.device)
        if not pieces:
            return batch.waveform.new_zeros(0, self.window), owner
        return torch.stack(pieces), owner

    def forward(self, batch: AudioBatch) -> EncoderOutput:
        """Encode mono audio.

        Args:
            batch: ``waveform [B, S]``, ``lengths [B]`` (resampled first when its
                ``sample_rate`` is not 48 kHz).

        Returns:
            ``pooled [B, projection_dim]``: unit-norm mean of the row's window
            embeddings; zeros for rows of length 0.
        """
        device = self.mel.filterbank.device
        batch = resample_batch(batch.to(device), self.sample_rate)
        windows, owner = self.windows(batch)
        pooled = torch.zeros(batch.waveform.shape[0], self.output_dim, device=device)
        if owner.numel() == 0:
            return EncoderOutput(pooled=pooled)
        features = self.mel(windows).transpose(-1, -2).unsqueeze(1)  # [W, 1, frames, n_mels]
        if self.fused:
            features = features.expand(-1, _FUSION_CHANNELS, -1, -1)
        is_longer = torch.zeros(features.shape[0], 1, dtype=torch.bool, device=device)
        embeds = self.model(input_features=features, is_longer=is_longer).audio_embeds
        embeds = F.normalize(embeds, dim=-1)
        pooled = pooled.to(embeds.dtype).index_add(0, owner, embeds)
        return EncoderOutput(pooled=F.normalize(pooled, dim=-1))
