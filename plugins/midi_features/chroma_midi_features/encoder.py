"""The ``midi_features`` encoder: MidiBatch -> ``[B, D]`` hand-crafted features, no learned parameters."""

from __future__ import annotations

import torch
from torch import Tensor

from chroma import Encoder, EncoderOutput, MidiBatch
from chroma.tonal import key_correlations, key_summary, key_templates
from chroma_midi_features import pitch, rhythm, texture
from chroma_midi_features.layout import TRANSFORMS, midi_feature_layout
from chroma_midi_features.notes import read_notes
from chroma_midi_features.plugin import MidiFeaturesConfig


class MidiFeaturesEncoder(Encoder):
    """Classic symbolic-music features of each row, computed for the whole batch at once.

    The columns and their order are :attr:`feature_names` (documented in
    :mod:`chroma_midi_features.layout`); ``output_dim = 62 + phase_bins + len(meter_divisions) +
    len(percentiles) + 128 * programs`` (219 by default). Rows without events give zeros. Values past a row's
    length are never read, so padding and the other rows cannot change a row's features.

    Args:
        config: feature options (see :class:`~chroma_midi_features.plugin.MidiFeaturesConfig`).
    """

    name = "midi_features"
    #: Bump whenever any output value changes: it keys precomputed-embedding caches.
    version = "2"
    modality = "midi"

    templates: Tensor  # [24, 12] key profiles (buffers: follow .to(device), never saved)
    divisions: Tensor  # [K] meter-grid divisions
    quantiles: Tensor  # [Q] pitch quantiles in [0, 1]
    scale: Tensor  # [D] linear transform of each column
    log1p: Tensor  # [D] bool, columns normalised with log1p

    def __init__(self, config: MidiFeaturesConfig) -> None:
        super().__init__()
        self.config = config
        layout = midi_feature_layout(config.phase_bins, config.meter_divisions, config.percentiles, config.programs)
        #: Name of each output column, in order.
        self.feature_names: tuple[str, ...] = tuple(f.name for f in layout)
        self.output_dim = len(layout)
        self.register_buffer("templates", key_templates(), persistent=False)
        self.register_buffer("divisions", torch.tensor(config.meter_divisions, dtype=torch.float32), persistent=False)
        self.register_buffer(
            "quantiles", torch.tensor(config.percentiles, dtype=torch.float32) / 100.0, persistent=False
        )
        self.register_buffer(
            "scale", torch.tensor([TRANSFORMS.get(f.transform, 1.0) for f in layout]), persistent=False
        )
        self.register_buffer("log1p", torch.tensor([f.transform == "log1p" for f in layout]), persistent=False)

    def fingerprint_extra(self) -> str:
        """There are no weights: the features depend on the version and options only, never on a seed."""
        return "no weights"

    def forward(self, batch: MidiBatch) -> EncoderOutput:
        """Compute the features.

        Args:
            batch: ``events [B, E, F]`` (``MIDI_EVENT_FEATURES`` columns), ``lengths [B]``, ``duration`` seconds.

        Returns:
            :class:`EncoderOutput` with ``pooled [B, output_dim]`` (zeros for rows of length 0).

        Raises:
            ValueError: a malformed batch (see :func:`chroma_midi_features.notes.read_notes`).
        """
        cfg = self.config
        notes = read_notes(batch.to(self.templates.device))
        profile = pitch.pitch_class_profile(notes)
        keys = key_correlations(profile, self.templates)
        onsets = rhythm.onset_groups(notes, cfg.onset_tolerance)
        raw = torch.cat(
            [
                profile,
                keys,
                key_summary(keys),
                rhythm.phase_histogram(onsets, cfg.phase_bins),
                rhythm.meter_grid(onsets, self.divisions, cfg.grid_tolerance),
                rhythm.densities(notes, onsets),
                rhythm.inter_onset_intervals(onsets),
                pitch.register(notes, self.quantiles),
                texture.polyphony(notes),
                texture.velocity(notes),
                texture.durations(notes),
                texture.drums(notes),
                *([texture.instrumentation(notes)] if cfg.programs else []),
            ],
            dim=1,
        )  # [B, output_dim]
        features = torch.where(self.log1p, torch.log1p(raw.clamp(min=0.0)), raw * self.scale) if cfg.normalize else raw
        present = notes.valid.any(dim=1, keepdim=True)
        return EncoderOutput(pooled=torch.where(present, features, 0.0))
