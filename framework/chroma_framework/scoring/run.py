"""Load a trained run and score raw MIDI, audio and lyrics with it.

``chroma.load_run(path)`` rebuilds the model from the run's saved config and
label vocabularies through the plugin registry, then loads ``model.safetensors``
(never a pickle). A run trained on precomputed embeddings also rebuilds the frozen
encoders that produced them and checks their fingerprints against the ones the
run recorded, so a changed or missing encoder is an error rather than silently
different scores.

Scoring accepts any subset of modalities; an absent one is masked and the
fusion substitutes its null embedding. Generated MIDI alone is the common case.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import Tensor

from chroma.contracts import AudioBatch, Encoder, TextBatch
from chroma.errors import ConfigError
from chroma.modality import MODALITIES, modality_index
from chroma.model import ChromaModel
from chroma.plugins.errors import PluginError
from chroma.plugins.registry import PluginRegistry
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.midi.collate import events_to_batch
from chroma_framework.scoring.windows import AGGREGATES, Aggregate, Scores, WindowReport, window_count
from chroma_framework.streams.model_inputs import (
    derived_from,
    derived_samples,
    describe_run_kind,
    read_normaliser,
    run_streams,
    slot_batches,
)
from chroma_framework.streams.normalise import StreamNormaliser
from chroma_framework.streams.spec import StreamValidationError
from chroma_framework.training import checkpoint as ckpt
from chroma_framework.training import run_dir as rd

if TYPE_CHECKING:
    from chroma_framework.audio.pipeline import AudioPreprocessor
    from chroma_framework.midi.pipeline import MidiPreprocessor

logger = logging.getLogger(__name__)

#: Windows of a long MIDI file scored in one forward pass.
WINDOWS_PER_FORWARD = 64

MidiInput = bytes | str | os.PathLike[str] | None
#: The event rows of each window to score, and the report of a file spanning several windows.
MidiWindows = tuple[list[np.ndarray | None], WindowReport | None]
AudioInput = str | os.PathLike[str] | np.ndarray | Tensor | tuple[Any, int] | None


class RunLoadError(RuntimeError):
    """A run cannot be loaded: not a run, a missing plugin, a foreign checkpoint, changed encoders."""


class ScoringError(ValueError):
    """An input given to :meth:`Run.score` cannot be used (unreadable file, unsupported modality)."""


def _plugin_hint(header: Mapping[str, Any]) -> str:
    build = header.get("build") or {}
    parts = []
    fusion = build.get("fusion") or {}
    if fusion:
        parts.append(f"fusion {fusion.get('name')!r} from {fusion.get('distribution')} {fusion.get('version')}")
    for modality, enc in (build.get("encoders") or {}).items():
        parts.append(f"{modality} encoder {enc.get('name')!r} (version {enc.get('version')})")
    return "; the run was trained with " + ", ".join(parts) if parts else ""


class Run:
    """A trained run, ready to score.

    Attributes:
        path: the run directory.
        config: the config it was trained with.
        header: ``run.json``.
        classes: ``{head: class names}`` in logit order.
        model: the :class:`~chroma.model.ChromaModel` in eval mode.
    """

    def __init__(
        self,
        path: Path,
        config: ChromaConfig,
        header: dict[str, Any],
        classes: dict[str, list[str]],
        model: ChromaModel,
        device: torch.device,
        registry: PluginRegistry | None = None,
        pins: Mapping[str, str] | None = None,
    ) -> None:
        self.path = path
        self.config = config
        self.header = header
        self.classes = classes
        self.model: ChromaModel = model.eval()
        self.device = device
        self._registry = registry
        #: ``{section path: distribution}`` chosen from run.json where several provide a plugin name.
        self._pins = dict(pins or {})
        self._encoders: dict[str, Encoder] | None = None
        #: The stream normalisation saved with a run trained with ``data.streams`` (set by :func:`load_run`).
        self.stream_normaliser: StreamNormaliser | None = None
        self._midi: MidiPreprocessor | None = None
        self._audio: AudioPreprocessor | None = None

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.model.modalities)

    @property
    def streams(self) -> dict[str, dict[str, int]]:
        """``{modality: {stream: dim}}`` of the modalities this run reads as feature streams (run.json)."""
        return run_streams(self.header.get("build") or {})

    @property
    def kind(self) -> str:
        """What the run reads, e.g. ``"text, audio (streams mel, rms), midi"``."""
        return describe_run_kind(self.modalities, self.streams)

    def _stream_inputs(
        self, streams: Mapping[str, tuple[Any, Any]] | None, given: Mapping[str, bool], media: Mapping[str, Any]
    ) -> dict[str, tuple[Any, bool]]:
        """``{modality: (FrameBatch, present)}`` of the run's stream slots: the ``streams`` given, plus the derived
        streams computed from the given ``media`` (``{"audio": AudioBatch, "midi": MidiBatch, "text": str}``)."""
        slots = self.streams
        if streams and not slots:
            raise ScoringError(f"run {self.path} reads no feature streams ({self.kind}); score it without streams")
        derivable = derived_from(self.config)
        media_only = [m for m in slots if given.get(m) and m not in derivable]
        if media_only:
            raise ScoringError(
                f"run {self.path} reads {media_only[0]} as feature streams, not media ({self.kind}); "
                f"give the streams {', '.join(slots[media_only[0]])} instead"
            )
        if not slots:
            return {}
        assert self.stream_normaliser is not None
        decoded: dict[str, Any] = {}
        if given.get("audio"):
            wave = media["audio"]
            decoded["audio"] = (wave.waveform[0, : int(wave.lengths[0])].cpu().numpy(), wave.sample_rate)
        if given.get("midi"):
            notes = media["midi"]
            decoded["midi"] = (notes.events[0, : int(notes.lengths[0])].cpu().numpy(), notes.duration)
        if given.get("text"):
            decoded["text"] = media["text"]
        try:
            samples = {**derived_samples(self.config, decoded), **(streams or {})}
            return slot_batches(self.config, self.stream_normaliser, slots, samples)
        except StreamValidationError as exc:
            raise ScoringError(f"unusable streams: {exc}") from None

    @property
    def encoders(self) -> dict[str, Encoder]:
        """``{modality: Encoder}`` turning raw inputs into a precomputed-mode run's embeddings.

        Built on first use (evaluation on stored embeddings never needs them) and
        checked against the fingerprints the run recorded.

        Raises:
            RunLoadError: an encoder plugin is missing or now builds different embeddings.
        """
        if self._encoders is None:
            if self.header.get("mode") != "precomputed":
                self._encoders = {}
            else:
                try:
                    built = _scoring_encoders(self.path, self.config, self.header, self._registry, self._pins)
                except (PluginError, ConfigError) as exc:
                    raise RunLoadError(f"cannot rebuild the encoders of run {self.path}: {exc}") from None
                self._encoders = {m: e.to(self.device).eval() for m, e in built.items()}
        return self._encoders

    def _encoder(self, modality: str) -> Encoder | None:
        if modality in self.model.encoders:
            return cast(Encoder, self.model.encoders[modality])
        return self.encoders.get(modality)

    # ------------------------------------------------------------ raw inputs
    def _window_seconds(self) -> float:
        """Length of the segments the run was trained on: ``preprocessing.midi.duration`` or the audio's."""
        return float(self.config.preprocessing.midi.duration or self.config.preprocessing.audio.duration)

    def _midi_windows(self, midi: bytes | str | os.PathLike[str], aggregate: Aggregate) -> MidiWindows:
        """Event rows of each window of ``midi`` to score, and a report when it spans several windows.

        A file within one window, or ``aggregate="first"``, gives one row: its notes from 0 s as training reads
        a segment (to ``preprocessing.midi.duration``; unset, every note, capped at ``max_events``, in a batch
        of the window's duration). Otherwise one row per window that holds notes (see
        :mod:`~chroma_framework.scoring.windows`).
        """
        from chroma_framework.midi.errors import MidiParseError
        from chroma_framework.midi.pipeline import MidiPreprocessor

        section = self.config.preprocessing.midi
        if self._midi is None:
            self._midi = MidiPreprocessor(section)
        if isinstance(midi, (bytes, bytearray)):
            data, source = bytes(midi), "<bytes>"
        else:
            if not Path(midi).is_file():
                raise ScoringError(f"MIDI file {midi} does not exist")
            data, source = Path(midi).read_bytes(), str(midi)
        duration = self._window_seconds()
        try:
            total = window_count(data, section, duration, source)
            if total == 1 or aggregate == "first":
                report = None if total == 1 else WindowReport(duration, total, [(0.0, duration)], [], "first")
                return [self._midi(data, source=source)], report
            rows: list[np.ndarray | None] = []
            report = WindowReport(duration, total)
            for k in range(total):
                span = (k * duration, (k + 1) * duration)
                events = self._midi(data, start=span[0], end=span[1], source=source)
                if events.shape[0]:
                    rows.append(events)
                    report.scored.append(span)
                else:
                    report.without_notes.append(span)
        except MidiParseError as exc:
            raise ScoringError(f"cannot read MIDI {source}: {exc}") from None
        return rows, report

    def _audio_rate(self) -> int:
        encoder = self._encoder("audio")
        rate = getattr(encoder, "sample_rate", None) or self.config.preprocessing.audio.sample_rate
        return int(rate or 44_100)

    def _audio_wave(self, audio: AudioInput) -> tuple[np.ndarray, int] | None:
        """``(samples, sample rate)`` of ``audio`` as given or decoded (``None`` when not given)."""
        from chroma_framework.data.audio_decode import AudioDecodeError, load_audio_file

        if audio is None:
            return None
        if isinstance(audio, (str, os.PathLike)):
            try:
                wave, source_rate = load_audio_file(Path(audio))
            except AudioDecodeError as exc:
                raise ScoringError(f"cannot read audio {audio}: {exc}") from None
        elif isinstance(audio, tuple):
            wave, source_rate = audio
        else:
            wave, source_rate = np.asarray(audio), self._audio_rate()
        return np.asarray(wave, dtype=np.float32), int(source_rate)

    def _audio_batch(
        self, wave: tuple[np.ndarray, int] | None, windows: list[tuple[float, float]] | None, rows: int = 1
    ) -> tuple[AudioBatch, Tensor]:
        """``(batch [B], present [B] bool)`` of ``rows`` rows: the clip from 0 s, or its slice of each window.

        A window past the end of the audio has the audio absent.
        """
        from chroma_framework.audio.pipeline import AudioPreprocessor

        rate = self._audio_rate()
        if self._audio is None:
            self._audio = AudioPreprocessor(self.config.preprocessing.audio, rate)
        rows = len(windows) if windows else rows
        samples = torch.zeros(rows, self._audio.num_samples)
        lengths = torch.zeros(rows, dtype=torch.int64)
        if wave is not None:
            values, source_rate = wave
            if windows:
                clips = [values[..., int(a * source_rate) : int(b * source_rate)] for a, b in windows]
            else:
                clips = [values] * rows
            for i, clip in enumerate(clips):
                if windows and clip.shape[-1] == 0:
                    continue  # the audio ended before this window
                try:
                    samples[i], length = self._audio(clip, source_rate)
                except ValueError as exc:
                    raise ScoringError(f"unusable audio: {exc}") from None
                lengths[i] = length
        present = lengths > 0 if windows else torch.full((rows,), wave is not None)
        return AudioBatch(samples, lengths, rate), present

    def _text_batch(self, lyrics: str | None, rows: int = 1) -> TextBatch:
        encoder = self._encoder("text")
        if lyrics is not None and (encoder is None or encoder.name == "precomputed"):
            raise ScoringError(
                f"run {self.path} reads lyrics as precomputed vectors (data.columns.lyric_embedding), "
                "so it cannot score raw lyric text; score without lyrics or train with a text encoder"
            )
        dim = int(self.model.fusion.input_dims.get("text", 1))
        return TextBatch(texts=[lyrics or ""] * rows, embeddings=torch.zeros(rows, dim))

    # --------------------------------------------------------------- scoring
    @torch.no_grad()
    def score(
        self,
        midi: MidiInput = None,
        audio: AudioInput = None,
        lyrics: str | None = None,
        streams: Mapping[str, tuple[Any, Any]] | None = None,
        windows: Aggregate = "mean",
    ) -> Scores:
        """Class probabilities of one segment, or of a long MIDI file window by window.

        Args:
            midi: MIDI file bytes or a path to a ``.mid`` file. One longer than the run's segments
                (``preprocessing.midi.duration``, else ``preprocessing.audio.duration``) is scored window by
                window (see :mod:`~chroma_framework.scoring.windows`); audio given with it is cut the same way.
            audio: a path to an audio file, a ``(waveform, sample_rate)`` tuple, or a
                waveform at the audio encoder's rate.
            lyrics: lyric text (runs with a text encoder only).
            streams: ``{stream: (timestamps [N] seconds, values [N, D])}`` for a run trained with
                ``data.streams``; a stream left out is missing, and a stream slot without any available frame is
                scored as its modality absent (the learned null embedding). A run reading streams scores the
                first window of a long MIDI file only.
            windows: ``"mean"`` averages the probabilities of every window with notes; ``"first"`` scores
                the start of the file only, as before.

        Returns:
            ``{head: {class: probability}}`` (each head's probabilities sum to 1); its ``windows`` attribute
            says which windows were scored when the MIDI spans several (``None`` otherwise).

        Raises:
            ScoringError: nothing given, or an input the run cannot use.
        """
        if windows not in AGGREGATES:
            raise ScoringError(f"windows must be one of {', '.join(AGGREGATES)}, got {windows!r}")
        given = {
            "text": lyrics is not None and lyrics.strip() != "",
            "audio": audio is not None,
            "midi": midi is not None,
        }
        unused = [m for m, g in given.items() if g and m not in self.modalities]
        if unused:
            raise ScoringError(
                f"run {self.path} was trained on {', '.join(self.modalities)} only; it cannot use {', '.join(unused)}"
            )
        self._text_batch(lyrics if given["text"] else None)  # lyrics the run cannot read fail first
        self._audio_batch(None, None)  # rebuilds the run's encoders: their errors come before the inputs'
        wave = self._audio_wave(audio)
        rows: list[np.ndarray | None] = [None]
        report = None
        if midi is not None:
            rows, report = self._midi_windows(midi, "first" if self.streams else windows)
        midi_rows = [r for r in rows if r is not None]
        if given["midi"] and midi_rows and midi_rows[0].shape[0] == 0:  # no notes: absent, as in training
            source = "the MIDI bytes" if isinstance(midi, (bytes, bytearray)) else f"MIDI file {midi}"
            if not any(g for m, g in given.items() if m != "midi"):
                raise ScoringError(
                    f"{source} has no notes in the scored window; training treats such MIDI as absent, "
                    "so there is nothing to score (give audio or lyrics too)"
                )
            logger.warning("%s has no notes in the scored window: scored as MIDI absent, as training treats it", source)
            given["midi"] = False
        spans = report.scored if report is not None and report.aggregate == "mean" else None
        chunks = [
            (rows[k : k + WINDOWS_PER_FORWARD], spans[k : k + WINDOWS_PER_FORWARD] if spans else None)
            for k in range(0, len(rows), WINDOWS_PER_FORWARD)  # a long file: a few windows per forward
        ]
        text = lyrics if given["text"] else None
        first, first_audio = self._window_inputs(*chunks[0], wave, text)
        # A run reading streams scores one window (the first): its stream slots come from it.
        media = {"audio": first["audio"], "midi": first["midi"], "text": lyrics}
        for modality, (frames, present) in self._stream_inputs(streams, given, media).items():
            first[modality], given[modality] = frames, present
        if not any(given.values()):
            raise ScoringError("nothing to score: give MIDI, audio or lyrics")
        parts: dict[str, list[Tensor]] = {}
        for i, (chunk, chunk_spans) in enumerate(chunks):
            raw, audio_present = (first, first_audio) if i == 0 else self._window_inputs(chunk, chunk_spans, wave, text)
            mask = torch.zeros(len(chunk), len(MODALITIES), dtype=torch.bool)
            for m, g in given.items():
                mask[:, modality_index(m)] = g
            if "audio" not in self.streams:  # a stream slot's presence comes from its frames
                mask[:, modality_index("audio")] &= audio_present
            for head, p in self._probabilities(raw, mask).items():
                parts.setdefault(head, []).append(p)
        scores = Scores()
        for head, head_parts in parts.items():
            p = torch.cat(head_parts)
            scores[head] = dict(zip(self.classes[head], (p.mean(dim=0) if len(p) > 1 else p[0]).tolist()))
        scores.windows = report
        return scores

    def _window_inputs(
        self,
        rows: list[np.ndarray | None],
        spans: list[tuple[float, float]] | None,
        wave: tuple[np.ndarray, int] | None,
        lyrics: str | None,
    ) -> tuple[dict[str, Any], Tensor]:
        """``(raw batches of B = len(rows) windows, audio present [B])``; ``spans`` cut the audio per window."""
        audio_batch, audio_present = self._audio_batch(wave, spans, len(rows))
        section = self.config.preprocessing.midi
        raw = {
            "text": self._text_batch(lyrics, len(rows)),
            "audio": audio_batch,
            "midi": events_to_batch(rows, self._window_seconds(), section.max_events)[0],
        }
        return raw, audio_present

    def _probabilities(self, raw: Mapping[str, Any], mask: Tensor) -> dict[str, Tensor]:
        """``{head: [B, K]}`` softmax probabilities of ``B`` rows of raw inputs (``mask`` ``[B, 3]``)."""
        batch: dict[str, Any] = {"modality_mask": mask.to(self.device)}
        precomputed = {}
        for modality in self.modalities:
            inputs = raw[modality].to(self.device)
            if modality in self.model.encoders:
                batch[modality] = inputs
            elif bool(mask[:, modality_index(modality)].any()):
                if modality not in self.encoders:
                    raise ScoringError(f"run {self.path} has no {modality} encoder to embed the given {modality}")
                precomputed[modality] = self.encoders[modality](inputs).pooled
            else:
                width = self.model.fusion.input_dims[modality]
                precomputed[modality] = torch.zeros(mask.shape[0], width, device=self.device)
        if precomputed:
            batch["embeddings"] = precomputed
        return {head: torch.softmax(x.float(), dim=1).cpu() for head, x in self.model(batch).logits.items()}


def _scoring_encoders(
    run_path: Path,
    config: ChromaConfig,
    header: Mapping[str, Any],
    registry: PluginRegistry | None,
    pins: Mapping[str, str],
) -> dict[str, Encoder]:
    """Rebuild the frozen encoders whose embeddings a precomputed run was trained on, checking fingerprints.

    Only each encoder's identity is compared (:func:`~chroma_framework.data.fingerprints.identity_of`): scoring
    a raw input never reads the training data, such as a transcription cache. A random-init encoder loads the
    weights saved with the run (``encoders/<modality>.safetensors``), never re-derived from a seed; a mismatch
    names its cause (see :func:`~chroma_framework.frozen_encoders.mismatch_cause`).
    """
    from chroma.plugins.registry import get_registry
    from chroma_framework.data.fingerprints import COLUMN_ENCODER, frozen_sections, identity_of
    from chroma_framework.frozen_encoders import mismatch_cause, rebuild_encoder

    registry = (registry or get_registry()).with_disabled(config.plugins.disable)
    sections = frozen_sections(config)
    encoders: dict[str, Encoder] = {}
    for modality, expected in (header.get("fingerprints") or {}).items():
        if str(expected).startswith(f"{COLUMN_ENCODER}-"):
            continue  # lyric vectors read from the metadata: nothing to rebuild
        section = sections.get(modality)
        if section is None:
            raise RunLoadError(
                f"the run's {modality} embeddings came from {expected!r}, but its config has no frozen "
                f"model.{modality}_encoder to rebuild it for scoring"
            )
        saved = rd.encoder_weights_path(run_path, modality)
        rebuilt = rebuild_encoder(config, modality, registry, saved, pins.get(f"model.{modality}_encoder"))
        if rebuilt.weights_error is not None:
            raise RunLoadError(rebuilt.weights_error)
        if rebuilt.identity != identity_of(str(expected)):
            cause = mismatch_cause(rebuilt, section, str(expected), saved, "the run")
            raise RunLoadError(
                f"run {run_path} cannot score {modality}: {cause}. Its {modality} embeddings are {expected}, the "
                f"{modality} encoder {section.type!r} now builds {rebuilt.identity}; install the plugin version "
                "and weights the run used, or retrain the run"
            )
        encoders[modality] = rebuilt.encoder
    return encoders


def load_run(
    path: str | os.PathLike[str], device: str | torch.device = "cpu", registry: PluginRegistry | None = None
) -> Run:
    """Load the run in directory ``path`` for scoring and evaluation.

    Raises:
        RunLoadError: not a run directory, a missing or incompatible plugin (named), or a checkpoint of
            another kind. (A precomputed-mode run's encoders are rebuilt and checked on the first
            :meth:`Run.score` that needs them.) Where several distributions provide a plugin name, the one
            run.json records is used and a warning says so; it is an error only when that one is gone.
    """
    from chroma.plugins.registry import get_registry
    from chroma_framework.model_build import build_model
    from chroma_framework.plugin_providers import recorded_pins, with_pins

    run_path = Path(path)
    try:
        header = rd.read_header(run_path)
        config = rd.read_config(run_path)
        classes = rd.read_labels_json(run_path)
    except rd.RunError as exc:
        raise RunLoadError(str(exc)) from None
    if not (run_path / rd.MODEL_FILE).is_file():
        raise RunLoadError(f"{run_path} has no {rd.MODEL_FILE}: training did not finish an epoch")
    device = torch.device(device)
    try:
        pins = recorded_pins(config, header, registry or get_registry(), run_path)
        model = build_model(with_pins(config, pins), classes, header.get("input_dims") or None, registry)
    except (PluginError, ConfigError) as exc:
        raise RunLoadError(f"cannot rebuild run {run_path}: {exc}{_plugin_hint(header)}") from None
    try:
        rd.check_vocabularies(run_path, dict(model.encoders.items()))
        ckpt.load_model(run_path / rd.MODEL_FILE, model)
    except (ckpt.CheckpointError, rd.RunError) as exc:
        raise RunLoadError(str(exc)) from None
    normaliser = None
    if run_streams(header.get("build") or {}):
        try:
            normaliser = read_normaliser(run_path)
        except StreamValidationError as exc:
            raise RunLoadError(
                f"run {run_path} reads feature streams but cannot apply their normalisation: {exc}"
            ) from None
    run = Run(run_path, config, header, classes, model.to(device), device, registry, pins)
    run.stream_normaliser = normaliser
    return run
