"""The ``musicnn`` audio encoder: 16 kHz audio -> 3 s log-mel patches -> musicnn -> one vector per patch.

Each row is cut into musicnn's 187-frame (3 s) patches, by default
non-overlapping; a trailing part shorter than a patch is dropped, as in musicnn's
extractor, and a row shorter than one patch is repeated to fill it (musicnn's
``repeat-pad`` of short training clips). ``sequence`` holds the chosen layer per patch and
``pooled`` its mean over the row's patches; absent rows (length 0) give zeros.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from chroma import AudioBatch, Encoder, EncoderOutput, length_mask, masked_mean
from chroma.dsp import resample_batch
from chroma.pretrained import PretrainedWeightsError
from chroma_audio_musicnn.frontend import HOP, N_FFT, SAMPLE_RATE, MusicnnFrontEnd
from chroma_audio_musicnn.network import PATCH_FRAMES, MusicnnNetwork
from chroma_audio_musicnn.plugin import LAYER_DIMS, MusicnnConfig
from chroma_audio_musicnn.weights import default_cache_dir, load_state, locate_checkpoint

#: Patches run through the network together on CPU: beyond 2 the 36 MB-per-4-patches activations
#: of the first timbral block outgrow the caches and each patch costs about twice as much (measured).
CPU_PATCHES_PER_PASS = 2


def hop_frames(seconds: float | None) -> int:
    """Patch step in frames: 187 for ``None``, else as musicnn converts ``input_overlap`` (at least 1)."""
    if seconds is None:
        return PATCH_FRAMES
    return max(1, int((seconds * SAMPLE_RATE - N_FFT // 2) // HOP))


def patch_index(frames: Tensor, hop: int) -> tuple[Tensor, Tensor, Tensor]:
    """Where the patches of rows with ``frames [B]`` valid frames come from, patches starting ``hop`` frames apart.

    Returns:
        ``row [N]`` (the row of each patch), ``slot [N]`` (its position within the row)
        and ``frame [N, 187]`` (the row's frames it holds; repeated for rows under 187 frames).
    """
    whole = torch.div(frames - PATCH_FRAMES, hop, rounding_mode="floor") + 1
    counts = torch.where(frames >= PATCH_FRAMES, whole, (frames > 0).long())
    row = torch.repeat_interleave(torch.arange(frames.shape[0], device=frames.device), counts)
    first = torch.cumsum(counts, 0) - counts
    slot = torch.arange(row.shape[0], device=frames.device) - first[row]
    offsets = torch.arange(PATCH_FRAMES, device=frames.device)
    frame = torch.remainder(slot[:, None] * hop + offsets[None, :], frames[row][:, None])
    return row, slot, frame


class MusicnnEncoder(Encoder):
    """Waveform ``[B, S]`` -> pooled ``[B, D]`` and per-patch sequence ``[B, P, D]``, ``D`` set by ``layer``."""

    name = "musicnn"
    version = "1"
    modality = "audio"
    returns_sequence = True

    def __init__(self, config: MusicnnConfig) -> None:
        super().__init__()
        self.config = config
        self.sample_rate = SAMPLE_RATE
        self.output_dim = LAYER_DIMS[config.layer]
        self.sequence_dim = self.output_dim
        self.patch_hop = hop_frames(config.patch_hop_seconds)
        self.checkpoint = locate_checkpoint(config.model, config.checkpoint_dir)
        cache_dir = Path(config.cache_dir).expanduser() if config.cache_dir else default_cache_dir()
        self.frontend = MusicnnFrontEnd()
        self.network = MusicnnNetwork()
        try:
            self.network.load_state_dict(load_state(self.checkpoint, cache_dir))
        except RuntimeError as exc:  # shapes of another network under musicnn's variable names
            raise PretrainedWeightsError(
                f"musicnn: {self.checkpoint.index} does not fit {config.model}: {exc}"
            ) from exc

    def fingerprint_extra(self) -> str:
        """``<model>:sha256:<hash of the checkpoint files>``."""
        return f"{self.config.model}:sha256:{self.checkpoint.sha256}"

    def _layer(self, outputs: dict[str, Tensor]) -> Tensor:
        if self.config.layer == "pools":
            return torch.cat([outputs["mean_pool"], outputs["max_pool"]], dim=-1)
        return outputs[self.config.layer]

    def forward(self, batch: AudioBatch) -> EncoderOutput:
        """Encode mono audio.

        Args:
            batch: ``waveform [B, S]``, ``lengths [B]`` (resampled to 16 kHz first when needed).

        Returns:
            ``pooled [B, D]`` (mean over patches), ``sequence [B, P, D]`` (zeros at invalid
            patches) and ``sequence_mask [B, P]`` with ``P = max(1, most patches in a row)``.
        """
        if batch.waveform.dim() != 2 or batch.lengths.shape != batch.waveform.shape[:1]:
            raise ValueError(
                f"musicnn: waveform must be [B, S] with lengths [B], got {tuple(batch.waveform.shape)} "
                f"and {tuple(batch.lengths.shape)}"
            )
        if bool((batch.lengths < 0).any()) or bool((batch.lengths > batch.waveform.shape[1]).any()):
            raise ValueError(
                f"musicnn: lengths must lie in [0, {batch.waveform.shape[1]}], got {batch.lengths.tolist()}"
            )
        batch = resample_batch(batch, SAMPLE_RATE)
        wave = batch.waveform.to(self.network.dense.weight.dtype)
        if wave.shape[1] == 0:
            wave = F.pad(wave, (0, 1))
        sequence = wave.new_zeros(wave.shape[0], 1, self.output_dim)
        if wave.shape[0] == 0:
            return EncoderOutput(sequence[:, 0], sequence, torch.zeros(0, 1, dtype=torch.bool, device=wave.device))
        logmel, frames = self.frontend(wave, batch.lengths.to(wave.device))
        row, slot, frame = patch_index(frames, self.patch_hop)
        counts = torch.bincount(row, minlength=wave.shape[0])
        sequence = wave.new_zeros(wave.shape[0], max(1, int(counts.max())), self.output_dim)
        if row.numel():
            patches = logmel[row[:, None], frame]  # [N, 187, 96]
            per_pass = CPU_PATCHES_PER_PASS if patches.device.type == "cpu" else patches.shape[0]
            values = torch.cat([self._layer(self.network(part)) for part in patches.split(per_pass)])
            sequence = sequence.index_put((row, slot), values)
        mask = length_mask(counts, sequence.shape[1])
        return EncoderOutput(pooled=masked_mean(sequence, mask), sequence=sequence, sequence_mask=mask)
