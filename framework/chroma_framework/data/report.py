"""The data report: why each modality was absent, per segment, plus alignment flags."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from chroma.modality import MODALITIES
from chroma_framework.atomic import write_json


@dataclass
class DataReport:
    """Counts and segment ids of absent modalities by reason.

    Attributes:
        segments: segments scanned.
        present: ``{modality: count}`` of segments where the modality was usable.
        absent: ``{modality: {reason: [segment_id, ...]}}``.
        misaligned: ``{segment_id: {"start_diff": s, "end_diff": s}}`` flagged by the alignment check.
        corrected: segments whose MIDI window needed the offset column to align.
        excluded: segments dropped from the data (e.g. flagged with ``exclude_flagged``).
    """

    segments: int = 0
    present: dict[str, int] = field(default_factory=lambda: {m: 0 for m in MODALITIES})
    absent: dict[str, dict[str, list[str]]] = field(default_factory=lambda: {m: {} for m in MODALITIES})
    misaligned: dict[str, dict[str, float]] = field(default_factory=dict)
    corrected: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    def add_segment(self, segment_id: str, reasons: Mapping[str, str | None]) -> None:
        """Count one segment; ``reasons[modality]`` is ``None`` when present, else why it is absent."""
        self.segments += 1
        for modality, reason in reasons.items():
            if reason is None:
                self.present[modality] += 1
            else:
                self.absent[modality].setdefault(reason, []).append(segment_id)

    def add_batch(self, segment_ids: Iterable[str], absent: Iterable[Mapping[str, str | None]]) -> None:
        """Count a collated batch's ``segment_id`` and ``absent`` entries."""
        for sid, reasons in zip(segment_ids, absent):
            self.add_segment(sid, reasons)

    def add_alignment(
        self, flagged: Mapping[str, Mapping[str, float]], corrected: Iterable[str], excluded: Iterable[str]
    ) -> None:
        """Record the alignment check (see :class:`chroma_framework.data.alignment.AlignmentResult`)."""
        self.misaligned.update({sid: dict(d) for sid, d in flagged.items()})
        self.corrected = sorted(set(self.corrected) | set(corrected))
        self.excluded = sorted(set(self.excluded) | set(excluded))

    def counts(self) -> dict[str, dict[str, int]]:
        """``{modality: {reason: count}}``."""
        return {m: {r: len(ids) for r, ids in sorted(rs.items())} for m, rs in self.absent.items()}

    def to_dict(self) -> dict:
        return {
            "segments": self.segments,
            "present": dict(self.present),
            "absent_counts": self.counts(),
            "absent": {m: {r: sorted(ids) for r, ids in sorted(rs.items())} for m, rs in self.absent.items()},
            "misaligned": dict(sorted(self.misaligned.items())),
            "corrected": sorted(self.corrected),
            "excluded": sorted(self.excluded),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> DataReport:
        return cls(
            segments=int(data["segments"]),
            present={m: int(v) for m, v in data["present"].items()},
            absent={m: {r: list(ids) for r, ids in rs.items()} for m, rs in data["absent"].items()},
            misaligned={k: dict(v) for k, v in data.get("misaligned", {}).items()},
            corrected=list(data.get("corrected", [])),
            excluded=list(data.get("excluded", [])),
        )

    def write_json(self, path: str | os.PathLike[str]) -> Path:
        """Write the report as indented JSON (atomically)."""
        path = Path(path)
        write_json(path, self.to_dict())
        return path

    @classmethod
    def read_json(cls, path: str | os.PathLike[str]) -> DataReport:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def summary(self, max_ids: int = 5) -> str:
        """Human-readable lines: coverage and absent reasons with example segment ids."""
        lines = [f"segments: {self.segments}"]
        for m in MODALITIES:
            if not self.present[m] and not self.absent[m]:
                continue  # modality not loaded
            pct = 100.0 * self.present[m] / self.segments if self.segments else 0.0
            lines.append(f"{m}: present {self.present[m]} ({pct:.1f}%)")
            for reason, ids in sorted(self.absent[m].items()):
                shown = ", ".join(sorted(ids)[:max_ids]) + (", ..." if len(ids) > max_ids else "")
                lines.append(f"  absent/{reason}: {len(ids)} [{shown}]")
        lines.append(f"misaligned (audio vs MIDI window): {len(self.misaligned)}")
        for sid, diff in sorted(self.misaligned.items())[:max_ids]:
            lines.append(f"  {sid}: start {diff['start_diff']:+.3f}s end {diff['end_diff']:+.3f}s")
        if self.corrected:
            lines.append(f"aligned by offset correction: {len(self.corrected)}")
        if self.excluded:
            lines.append(f"excluded: {len(self.excluded)}")
        return "\n".join(lines)
