"""Public Hypothesis strategies for chroma's tensor contracts.

Plugin authors use these to property-test their own encoders and fusions; the
contract kit (:mod:`chroma.testing`) is built on them.

Hypothesis draws the *structure* of each example (batch size, which modalities
are present, lengths, which kind of garbage sits in absent slots), so failures
shrink to small readable cases. Bulk tensor values come from a
:class:`torch.Generator` seeded by a drawn integer, which keeps examples fast
and reproducible.

Example::

    from hypothesis import given
    from chroma.testing import strategies as cst

    @given(cst.multimodal_batches({"text": 8, "audio": 4, "midi": 4}))
    def test_my_fusion(batch):
        embeddings, mask = batch
        ...
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import torch
from hypothesis import strategies as st
from torch import Tensor

from chroma.contracts import MIDI_EVENT_FEATURES, AudioBatch, FrameBatch, MidiBatch, TextBatch, midi_feature_index
from chroma.modality import MODALITIES, modality_index

__all__ = [
    "GARBAGE_KINDS",
    "audio_batches",
    "batch_sizes",
    "embeddings",
    "every_mask_pattern",
    "frame_batches",
    "garbage",
    "midi_batches",
    "modality_masks",
    "multimodal_batches",
    "sequence_batches",
    "text_batches",
]

#: What may sit in an absent slot: the contract says such values are ignored.
GARBAGE_KINDS: tuple[str, ...] = ("nan", "inf", "-inf", "huge", "noise", "zero")

_SEEDS = st.integers(min_value=0, max_value=2**31 - 1)
#: Letters, punctuation, whitespace and non-ASCII (accents, CJK, emoji) for lyric strings.
_LYRIC_CHARS = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 ,.'!?-\n\téüßñ漢字歌🎵"
#: Largest float32 below 1, the upper bound of a MIDI ``position``.
_BELOW_ONE = 1.0 - 2.0**-24


def _generator(seed: int) -> torch.Generator:
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def _batch(draw: st.DrawFn, batch: int | st.SearchStrategy[int] | None, max_batch: int) -> int:
    if batch is None:
        return draw(batch_sizes(max_size=max_batch))
    if isinstance(batch, int):
        return batch
    return draw(batch)


def batch_sizes(min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[int]:
    """Batch sizes in ``[min_size, max_size]``; ``min_size`` (1 by default) is always a candidate."""
    return st.one_of(st.just(min_size), st.integers(min_value=min_size, max_value=max_size))


def garbage(shape: Sequence[int], kind: str, seed: int) -> Tensor:
    """A float32 tensor of ``shape`` filled with one :data:`GARBAGE_KINDS` pattern.

    ``"huge"`` is ``±1e30``; ``"noise"`` is normal noise scaled by ``1e4``.
    """
    if kind == "nan":
        return torch.full(tuple(shape), math.nan)
    if kind == "inf":
        return torch.full(tuple(shape), math.inf)
    if kind == "-inf":
        return torch.full(tuple(shape), -math.inf)
    if kind == "huge":
        signs = torch.randint(0, 2, tuple(shape), generator=_generator(seed)) * 2 - 1
        return signs.float() * 1e30
    if kind == "noise":
        return torch.randn(tuple(shape), generator=_generator(seed)) * 1e4
    if kind == "zero":
        return torch.zeros(tuple(shape))
    raise ValueError(f"garbage: unknown kind {kind!r}; expected one of {', '.join(GARBAGE_KINDS)}")


def every_mask_pattern(modalities: Sequence[str] = MODALITIES) -> Tensor:
    """``[2**M, 3]`` bool: every presence pattern of ``modalities`` once, all-absent first.

    Columns of modalities not listed stay False.
    """
    rows = []
    for bits in itertools.product((False, True), repeat=len(modalities)):
        row = [False] * len(MODALITIES)
        for name, bit in zip(modalities, bits, strict=True):
            row[modality_index(name)] = bit
        rows.append(row)
    return torch.tensor(rows, dtype=torch.bool)


@st.composite
def modality_masks(
    draw: st.DrawFn,
    batch: int | st.SearchStrategy[int] | None = None,
    *,
    modalities: Sequence[str] = MODALITIES,
    min_present: int = 0,
    max_batch: int = 8,
) -> Tensor:
    """``[B, 3]`` bool presence masks, including rows with zero or one modality present.

    Args:
        batch: fixed batch size, a strategy for it, or ``None`` for :func:`batch_sizes`.
        modalities: the modalities that may be present; other columns are False.
        min_present: fewest present modalities per row.
        max_batch: largest drawn batch when ``batch`` is ``None``.
    """
    size = _batch(draw, batch, max_batch)
    patterns = [row for row in every_mask_pattern(modalities).tolist() if sum(row) >= min_present]
    if not patterns:
        raise ValueError(f"modality_masks: no pattern of {list(modalities)} has {min_present} present")
    rows = draw(st.lists(st.sampled_from(patterns), min_size=size, max_size=size))
    return torch.tensor(rows, dtype=torch.bool).reshape(size, len(MODALITIES))


@st.composite
def embeddings(
    draw: st.DrawFn,
    input_dims: Mapping[str, int],
    batch: int | st.SearchStrategy[int] | None = None,
    *,
    max_batch: int = 8,
) -> dict[str, Tensor]:
    """``{modality: [B, input_dims[modality]]}`` finite float32 embeddings at varied scales."""
    size = _batch(draw, batch, max_batch)
    gen = _generator(draw(_SEEDS))
    scale = draw(st.sampled_from((1.0, 1e-3, 10.0)))
    return {name: torch.randn(size, dim, generator=gen) * scale for name, dim in input_dims.items()}


@st.composite
def multimodal_batches(
    draw: st.DrawFn,
    input_dims: Mapping[str, int],
    batch: int | st.SearchStrategy[int] | None = None,
    *,
    mask: Tensor | None = None,
    max_batch: int = 8,
) -> tuple[dict[str, Tensor], Tensor]:
    """``(embeddings, modality_mask)`` as a fusion receives them.

    Present rows hold finite embeddings; every absent row holds garbage
    (NaN, ±inf, ±1e30, large noise or zeros), which a fusion must ignore.

    Args:
        input_dims: pooled width per modality.
        batch: batch size (or strategy); ignored when ``mask`` is given.
        mask: fixed ``[B, 3]`` bool mask; drawn with :func:`modality_masks` when ``None``.
        max_batch: largest drawn batch.
    """
    if mask is None:
        mask = draw(modality_masks(batch, modalities=tuple(input_dims), max_batch=max_batch))
    size = mask.shape[0]
    values = draw(embeddings(input_dims, size))
    out: dict[str, Tensor] = {}
    for name, emb in values.items():
        present = mask[:, modality_index(name)]
        filled = emb.clone()
        for row in torch.nonzero(~present).flatten().tolist():
            kind = draw(st.sampled_from(GARBAGE_KINDS))
            filled[row] = garbage((emb.shape[1],), kind, draw(_SEEDS))
        out[name] = filled
    return out, mask


@st.composite
def sequence_batches(
    draw: st.DrawFn,
    sequence_dims: Mapping[str, int],
    mask: Tensor,
    *,
    max_len: int = 6,
) -> dict[str, tuple[Tensor, Tensor]]:
    """``{modality: (sequence [B, T, D], valid [B, T] bool)}`` encoder sequences.

    Rows get between 0 and ``T`` valid positions (a present modality may have
    none); padded positions and rows of absent modalities hold garbage.

    Args:
        sequence_dims: sequence width per modality.
        mask: ``[B, 3]`` bool modality mask the sequences belong to.
        max_len: largest ``T``.
    """
    size = mask.shape[0]
    out: dict[str, tuple[Tensor, Tensor]] = {}
    for name, dim in sequence_dims.items():
        length = draw(st.integers(min_value=1, max_value=max_len))
        lengths = draw(st.lists(st.integers(0, length), min_size=size, max_size=size))
        valid = torch.arange(length)[None, :] < torch.tensor(lengths, dtype=torch.long).reshape(size, 1)
        seq = torch.randn(size, length, dim, generator=_generator(draw(_SEEDS)))
        junk = garbage((size, length, dim), draw(st.sampled_from(GARBAGE_KINDS)), draw(_SEEDS))
        keep = valid & mask[:, modality_index(name)].unsqueeze(1)
        out[name] = (torch.where(keep.unsqueeze(-1), seq, junk), valid)
    return out


@st.composite
def audio_batches(
    draw: st.DrawFn,
    sample_rate: int,
    *,
    batch: int | st.SearchStrategy[int] | None = None,
    max_seconds: float = 1.0,
    allow_empty: bool = True,
    max_batch: int = 4,
) -> AudioBatch:
    """Mono :class:`~chroma.contracts.AudioBatch` rows of varied length and content.

    Each row is silence, a sine tone, white noise, or (with ``allow_empty``)
    length 0 as for an absent row. Samples lie in ``[-1, 1]`` and are zero past
    each row's length.

    Args:
        sample_rate: samples per second.
        batch: batch size (or strategy); drawn when ``None``.
        max_seconds: longest row.
        allow_empty: allow rows of length 0.
        max_batch: largest drawn batch.
    """
    size = _batch(draw, batch, max_batch)
    max_samples = max(1, int(max_seconds * sample_rate))
    min_samples = 0 if allow_empty else 1
    lengths = draw(st.lists(st.integers(min_samples, max_samples), min_size=size, max_size=size))
    width = max(1, max(lengths))
    gen = _generator(draw(_SEEDS))
    waveform = torch.zeros(size, width)
    for row, length in enumerate(lengths):
        kind = draw(st.sampled_from(("silence", "tone", "noise")))
        if kind == "tone":
            freq = draw(st.floats(min_value=20.0, max_value=sample_rate / 2.5))
            t = torch.arange(length, dtype=torch.float32) / sample_rate
            waveform[row, :length] = 0.5 * torch.sin(2 * math.pi * freq * t)
        elif kind == "noise":
            waveform[row, :length] = (torch.randn(length, generator=gen) * 0.3).clamp(-1.0, 1.0)
    return AudioBatch(waveform, torch.tensor(lengths, dtype=torch.long), sample_rate)


@st.composite
def frame_batches(
    draw: st.DrawFn,
    streams: Mapping[str, int],
    *,
    batch: int | st.SearchStrategy[int] | None = None,
    max_frames: int = 12,
    allow_empty: bool = True,
    max_batch: int = 4,
) -> FrameBatch:
    """:class:`~chroma.contracts.FrameBatch` of the ``streams`` (``{name: dim}``): rows of varied length, each
    stream available on a random subset of a row's frames (possibly none, as for a stream missing in a segment),
    zero where unavailable or padded.

    Args:
        streams: the streams and their widths.
        batch: batch size (or strategy); drawn when ``None``.
        max_frames: longest row.
        allow_empty: allow rows of 0 frames (absent rows).
        max_batch: largest drawn batch.
    """
    size = _batch(draw, batch, max_batch)
    lengths = draw(st.lists(st.integers(0 if allow_empty else 1, max_frames), min_size=size, max_size=size))
    width = max(1, max(lengths))
    gen = _generator(draw(_SEEDS))
    inside = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]
    values, masks = {}, {}
    for name, dim in streams.items():
        share = draw(st.sampled_from((0.0, 0.5, 1.0)))
        mask = inside & (torch.rand(size, width, generator=gen) < share if share < 1 else inside)
        values[name] = torch.where(mask.unsqueeze(-1), torch.randn(size, width, dim, generator=gen), 0.0)
        masks[name] = mask
    return FrameBatch(values, masks, torch.tensor(lengths, dtype=torch.long))


@st.composite
def midi_batches(
    draw: st.DrawFn,
    *,
    batch: int | st.SearchStrategy[int] | None = None,
    duration: float = 4.0,
    max_events: int = 48,
    max_batch: int = 4,
) -> MidiBatch:
    """:class:`~chroma.contracts.MidiBatch` rows following :data:`~chroma.contracts.MIDI_EVENT_FEATURES`.

    Each row is empty (length 0), a single note, a few notes, or ``max_events``
    notes (dense). Pitch and program are ints in 0-127, velocity in 1-127,
    onset and duration in seconds within ``duration``, ``is_drum`` 0/1, ``bar``
    a non-negative int and ``position`` in ``[0, 1)``, rows sorted by onset and
    zero past their length. The event axis has at least one column.

    Args:
        batch: batch size (or strategy); drawn when ``None``.
        duration: segment length in seconds.
        max_events: events of a dense row.
        max_batch: largest drawn batch.
    """
    size = _batch(draw, batch, max_batch)
    kinds = draw(st.lists(st.sampled_from(("empty", "single", "few", "many")), min_size=size, max_size=size))
    counts = {"empty": 0, "single": 1, "few": draw(st.integers(2, min(8, max_events))), "many": max_events}
    lengths = [min(counts[k], max_events) for k in kinds]
    seconds_per_bar = draw(st.sampled_from((1.5, 2.0, 3.0)))
    gen = _generator(draw(_SEEDS))
    events = torch.zeros(size, max(1, max(lengths)), len(MIDI_EVENT_FEATURES))
    col = midi_feature_index
    for row, n in enumerate(lengths):
        if n == 0:
            continue
        onset = torch.sort(torch.rand(n, generator=gen) * duration * 0.99).values
        remaining = duration - onset
        events[row, :n, col("pitch")] = torch.randint(0, 128, (n,), generator=gen).float()
        events[row, :n, col("velocity")] = torch.randint(1, 128, (n,), generator=gen).float()
        events[row, :n, col("onset")] = onset
        events[row, :n, col("duration")] = remaining * (0.01 + 0.99 * torch.rand(n, generator=gen))
        events[row, :n, col("program")] = torch.randint(0, 128, (n,), generator=gen).float()
        events[row, :n, col("is_drum")] = torch.randint(0, 2, (n,), generator=gen).float()
        events[row, :n, col("bar")] = torch.floor(onset / seconds_per_bar)
        position = torch.remainder(onset, seconds_per_bar) / seconds_per_bar
        events[row, :n, col("position")] = position.clamp(max=_BELOW_ONE)
    return MidiBatch(events, torch.tensor(lengths, dtype=torch.long), duration)


@st.composite
def text_batches(
    draw: st.DrawFn,
    *,
    batch: int | st.SearchStrategy[int] | None = None,
    embedding_dim: int | None = None,
    max_chars: int = 80,
    max_batch: int = 4,
) -> TextBatch:
    """:class:`~chroma.contracts.TextBatch` of lyric strings, including ``""`` (absent) and non-ASCII text.

    Args:
        batch: batch size (or strategy); drawn when ``None``.
        embedding_dim: also give precomputed ``embeddings [B, embedding_dim]``
            (zero rows where the text is ``""``).
        max_chars: longest string.
        max_batch: largest drawn batch.
    """
    size = _batch(draw, batch, max_batch)
    line = st.text(alphabet=_LYRIC_CHARS, max_size=max_chars)
    texts = draw(st.lists(st.one_of(st.just(""), line), min_size=size, max_size=size))
    if embedding_dim is None:
        return TextBatch(texts=texts)
    vectors = torch.randn(size, embedding_dim, generator=_generator(draw(_SEEDS)))
    present = torch.tensor([bool(t) for t in texts], dtype=torch.bool).reshape(size, 1)
    return TextBatch(texts=texts, embeddings=torch.where(present, vectors, torch.zeros_like(vectors)))
