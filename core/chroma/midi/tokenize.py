"""Note event rows -> NOTE_ON / NOTE_OFF / TIME_SHIFT / VELOCITY token ids.

The token families and names follow miditok's MIDILike tokenizer (``NoteOn_60``,
``NoteOff_60``, ``Velocity_99``, ``Program_0``, ``DrumOn_36``, ``PAD_None``...), but
``TimeShift`` counts fixed steps of seconds (10 ms by default, as in Oore et al. and Music
Transformer) instead of miditok's beats: event rows carry seconds aligned with the
audio, not the tempo map a beat grid needs, and encoders tokenize from the event tensor.

As in the performance encoding, ``Program`` and ``Velocity`` tokens are emitted only when
their value changes. The ``bar_aware`` variant adds a ``Bar_None`` token at every new bar
and every token carries a bar index and a position in its bar, interpolated from the note
onsets' bar coordinates (exact while tempo and meter are constant between onsets).

Everything is numpy and deterministic, so precomputation and end-to-end training see the
same ids. :func:`tokenize_batch` turns a :class:`~chroma.contracts.MidiBatch` into padded tensors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from chroma.contracts import midi_feature_index
from chroma.midi.timing import musical_time

if TYPE_CHECKING:
    import torch

    from chroma.contracts import MidiBatch

Variant = Literal["midilike", "bar_aware"]
_PITCH, _VEL, _ONSET, _DUR, _PROG, _DRUM, _BAR, _POS = (
    midi_feature_index(n) for n in ("pitch", "velocity", "onset", "duration", "program", "is_drum", "bar", "position")
)
SPECIALS = ("PAD_None", "BOS_None", "EOS_None", "MASK_None")
PAD_ID = 0
BOS_ID = 1


@dataclass(frozen=True)
class Vocabulary:
    """Token strings and the quantisation that produced them; saved as JSON beside checkpoints.

    Attributes:
        variant: ``"midilike"`` or ``"bar_aware"``.
        time_shift_ms: length of one TimeShift step in milliseconds.
        max_shift_steps: longest single TimeShift token, in steps (longer gaps repeat it).
        velocity_bins: number of Velocity tokens (miditok's evenly spaced 1..127 values).
    """

    variant: Variant = "midilike"
    time_shift_ms: int = 10
    max_shift_steps: int = 100
    velocity_bins: int = 32
    tokens: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.variant not in ("midilike", "bar_aware"):
            raise ValueError(f"unknown tokenization {self.variant!r}; expected midilike or bar_aware")
        if min(self.time_shift_ms, self.max_shift_steps, self.velocity_bins) <= 0:
            raise ValueError("time_shift_ms, max_shift_steps and velocity_bins must be positive")
        tokens = [*SPECIALS]
        if self.variant == "bar_aware":
            tokens.append("Bar_None")
        tokens += [f"Program_{p}" for p in range(128)]
        tokens += [f"Velocity_{v}" for v in self.velocity_values]
        for family in ("NoteOn", "NoteOff", "DrumOn", "DrumOff"):
            tokens += [f"{family}_{p}" for p in range(128)]
        tokens += [f"TimeShift_{s * self.time_shift_ms}ms" for s in range(1, self.max_shift_steps + 1)]
        object.__setattr__(self, "tokens", tuple(tokens))

    @property
    def velocity_values(self) -> np.ndarray:
        """``[velocity_bins]`` int velocities the Velocity tokens stand for."""
        return np.linspace(0, 127, self.velocity_bins + 1, dtype=np.int64)[1:]

    def __len__(self) -> int:
        return len(self.tokens)

    def id(self, token: str) -> int:
        """Id of ``token``; ``KeyError`` names the token when it is not in the vocabulary."""
        try:
            return self.tokens.index(token)
        except ValueError:
            raise KeyError(f"token {token!r} is not in the {self.variant} vocabulary") from None

    def to_json(self) -> str:
        return json.dumps(
            {
                "variant": self.variant,
                "time_shift_ms": self.time_shift_ms,
                "max_shift_steps": self.max_shift_steps,
                "velocity_bins": self.velocity_bins,
                "tokens": list(self.tokens),
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        """Rebuild a vocabulary; fails if the stored token list differs from the rebuilt one."""
        data = json.loads(text)
        vocab = cls(
            variant=data["variant"],
            time_shift_ms=int(data["time_shift_ms"]),
            max_shift_steps=int(data["max_shift_steps"]),
            velocity_bins=int(data["velocity_bins"]),
        )
        if tuple(data["tokens"]) != vocab.tokens:
            raise ValueError("stored MIDI vocabulary does not match the one this version builds")
        return vocab

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


@dataclass
class TokenSequence:
    """One segment's tokens.

    Attributes:
        ids: ``[L]`` int64 token ids.
        bar: ``[L]`` int64 bar index of each token (0 = the window's first bar).
        position: ``[L]`` float32 position of each token in its bar, ``[0, 1)``.
        truncated: tokens dropped by ``max_tokens``.
    """

    ids: np.ndarray
    bar: np.ndarray
    position: np.ndarray
    truncated: int = 0


class MidiTokenizer:
    """Deterministic event-row tokenizer over a :class:`Vocabulary`."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        ids = {t: i for i, t in enumerate(vocab.tokens)}
        self._program0 = ids["Program_0"]
        self._velocity0 = ids[f"Velocity_{vocab.velocity_values[0]}"]
        self._note_on0 = ids["NoteOn_0"]
        self._note_off0 = ids["NoteOff_0"]
        self._drum_on0 = ids["DrumOn_0"]
        self._drum_off0 = ids["DrumOff_0"]
        self._shift0 = ids[f"TimeShift_{vocab.time_shift_ms}ms"] - 1  # id of a 0-step shift
        self._bar = ids.get("Bar_None")

    def encode(self, events: np.ndarray, max_tokens: int | None = None) -> TokenSequence:
        """Tokenize ``[E, F]`` event rows (any order) into at most ``max_tokens`` tokens."""
        vocab = self.vocab
        events = np.asarray(events, dtype=np.float64)
        n = events.shape[0]
        if n == 0:
            return TokenSequence(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
        step = vocab.time_shift_ms / 1000.0
        pitch = np.clip(np.rint(events[:, _PITCH]), 0, 127).astype(np.int64)
        drum = events[:, _DRUM] > 0.5
        program = np.clip(np.rint(events[:, _PROG]), 0, 127).astype(np.int64)
        onset, end = events[:, _ONSET], events[:, _ONSET] + np.maximum(events[:, _DUR], 0.0)
        velocity_bin = _closest_bin(events[:, _VEL], vocab.velocity_values)

        # 2n events: offs (kind 0) sort before ons (kind 1) at the same quantised time
        time = np.concatenate([end, onset])
        q = np.rint(time / step).astype(np.int64)
        kind = np.repeat([0, 1], n)
        note = np.tile(np.arange(n), 2)
        order = np.lexsort((program[note], pitch[note], kind, q))
        q, kind, note = q[order], kind[order], note[order]
        is_drum = drum[note]

        shift_total = np.diff(q, prepend=0)
        full, rest = np.divmod(shift_total, vocab.max_shift_steps)
        n_shift = full + (rest > 0)
        # musical time at the quantised instants keeps bars non-decreasing along the stream
        bar, position = musical_time(onset, events[:, _BAR] + events[:, _POS], q * step)
        bar_idx = np.floor(bar).astype(np.int64)
        n_bar = np.zeros_like(n_shift)
        if self._bar is not None:
            n_bar = np.maximum(np.diff(bar_idx, prepend=-1), 0)
        prog_change = ~is_drum & (program[note] != _previous_state(program[note], ~is_drum))
        vel_change = (kind == 1) & (velocity_bin[note] != _previous_state(velocity_bin[note], kind == 1))
        counts = n_shift + n_bar + prog_change + vel_change + 1
        starts = np.cumsum(counts) - counts
        total = int(counts.sum())

        ids = np.empty(total, np.int64)
        owner = np.repeat(np.arange(2 * n), counts)
        slot = np.arange(total) - starts[owner]
        # slot layout per event: shifts, bars, program?, velocity?, note
        shift_mask = slot < n_shift[owner]
        shift_steps = np.where(
            slot == n_shift[owner] - 1, np.where(rest > 0, rest, vocab.max_shift_steps)[owner], vocab.max_shift_steps
        )
        ids[shift_mask] = self._shift0 + shift_steps[shift_mask]
        if self._bar is not None:
            ids[(slot >= n_shift[owner]) & (slot < (n_shift + n_bar)[owner])] = self._bar
        base = n_shift + n_bar
        ids[(starts + base)[prog_change]] = self._program0 + program[note][prog_change]
        vel_at = starts + base + prog_change
        ids[vel_at[vel_change]] = self._velocity0 + velocity_bin[note][vel_change]
        note_id = (
            np.where(
                kind == 1,
                np.where(is_drum, self._drum_on0, self._note_on0),
                np.where(is_drum, self._drum_off0, self._note_off0),
            )
            + pitch[note]
        )
        ids[starts + counts - 1] = note_id

        tok_bar = bar_idx[owner]
        tok_pos = position[owner].astype(np.float32)
        bar_tokens = (slot >= n_shift[owner]) & (slot < base[owner])
        tok_pos[bar_tokens] = 0.0
        # the j-th Bar token before an event opens bar (event bar - bars crossed + 1 + j)
        opened = (bar_idx - n_bar + 1 - n_shift)[owner] + slot
        tok_bar[bar_tokens] = opened[bar_tokens]
        tok_bar = np.maximum(tok_bar, 0)
        truncated = 0
        if max_tokens is not None and total > max_tokens:
            truncated = total - max_tokens
            ids, tok_bar, tok_pos = ids[:max_tokens], tok_bar[:max_tokens], tok_pos[:max_tokens]
        return TokenSequence(ids, tok_bar, tok_pos, truncated)

    def decode(self, ids: np.ndarray) -> np.ndarray:
        """Token ids -> ``[N, F]`` event rows (quantised times; bar and position left 0).

        A NoteOff closes the earliest open note of its pitch and program.
        """
        vocab = self.vocab
        step = vocab.time_shift_ms / 1000.0
        now, program, velocity = 0, 0, int(vocab.velocity_values[-1])
        open_notes: dict[tuple[int, int, bool], list[int]] = {}
        rows: list[list[float]] = []
        for token_id in np.asarray(ids).tolist():
            family, _, value = vocab.tokens[token_id].partition("_")
            if family == "TimeShift":
                now += int(value.removesuffix("ms")) // vocab.time_shift_ms
            elif family == "Program":
                program = int(value)
            elif family == "Velocity":
                velocity = int(value)
            elif family in ("NoteOn", "DrumOn"):
                drum = family == "DrumOn"
                rows.append([int(value), velocity, now * step, 0.0, 0 if drum else program, float(drum), 0.0, 0.0])
                open_notes.setdefault((int(value), 0 if drum else program, drum), []).append(len(rows) - 1)
            elif family in ("NoteOff", "DrumOff"):
                drum = family == "DrumOff"
                pending = open_notes.get((int(value), 0 if drum else program, drum))
                if pending:
                    row = rows[pending.pop(0)]
                    row[3] = now * step - row[2]
        return np.asarray(rows, dtype=np.float32).reshape(-1, 8)


def _closest_bin(values: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Index of the nearest of the sorted ``bins`` for each value; ties go up (as miditok does)."""
    idx = np.minimum(np.searchsorted(bins, values, side="left"), bins.size - 1)
    below = np.maximum(idx - 1, 0)
    return np.where(np.abs(values - bins[below]) < np.abs(values - bins[idx]), below, idx)


def _previous_state(values: np.ndarray, sets: np.ndarray) -> np.ndarray:
    """For each position, the value at the latest earlier position where ``sets`` is True (-1 if none)."""
    idx = np.where(sets, np.arange(values.size), -1)
    last = np.maximum.accumulate(idx)
    prev = np.concatenate([[-1], last[:-1]])
    return np.where(prev >= 0, values[np.maximum(prev, 0)], -1)


@dataclass
class TokenBatch:
    """Padded token tensors of a batch.

    Attributes:
        ids: ``[B, L]`` int64, :data:`PAD_ID` past each row's length.
        bar: ``[B, L]`` int64 bar index per token.
        position: ``[B, L]`` float32 position in bar per token.
        mask: ``[B, L]`` bool, True at real tokens.
        truncated: rows that lost tokens to ``max_tokens``.
    """

    ids: torch.Tensor
    bar: torch.Tensor
    position: torch.Tensor
    mask: torch.Tensor
    truncated: int


def tokenize_batch(batch: MidiBatch, tokenizer: MidiTokenizer, max_tokens: int) -> TokenBatch:
    """Tokenize every row of a :class:`~chroma.contracts.MidiBatch`; tensors land on its device.

    ``L = max(1, longest row)``, so an all-empty batch still yields one (padding) column.
    """
    import torch

    events = batch.events.detach().to("cpu", torch.float32).numpy()
    lengths = batch.lengths.detach().cpu().tolist()
    seqs = [tokenizer.encode(events[i, : int(n)], max_tokens) for i, n in enumerate(lengths)]
    width = max([1] + [s.ids.size for s in seqs])
    ids = np.full((len(seqs), width), PAD_ID, np.int64)
    bar = np.zeros((len(seqs), width), np.int64)
    pos = np.zeros((len(seqs), width), np.float32)
    mask = np.zeros((len(seqs), width), bool)
    for i, s in enumerate(seqs):
        k = s.ids.size
        ids[i, :k], bar[i, :k], pos[i, :k], mask[i, :k] = s.ids, s.bar, s.position, True
    device = batch.events.device
    return TokenBatch(
        torch.from_numpy(ids).to(device),
        torch.from_numpy(bar).to(device),
        torch.from_numpy(pos).to(device),
        torch.from_numpy(mask).to(device),
        sum(s.truncated > 0 for s in seqs),
    )
