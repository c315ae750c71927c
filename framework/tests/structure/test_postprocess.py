"""Peak picking, beat-grid snapping, minimum section length, smoothing and sections."""

from __future__ import annotations

import numpy as np
import pytest

from chroma_framework.config.structure import PostprocessSection
from chroma_framework.structure.postprocess import (
    boundaries_from_probs,
    enforce_min_section,
    pick_peaks,
    sections,
    smooth,
    snap_to_grid,
)


def test_pick_peaks_threshold_and_min_distance_keep_the_highest():
    probs = np.array([0.0, 0.6, 0.2, 0.9, 0.1, 0.0, 0.4, 0.0, 0.7, 0.0])
    assert pick_peaks(probs, 0.5, 1).tolist() == [1, 3, 8]
    # 1 and 3 are two frames apart: with min_distance 3 only the higher (3) stays
    assert pick_peaks(probs, 0.5, 3).tolist() == [3, 8]
    assert pick_peaks(probs, 0.95, 1).tolist() == []


def test_pick_peaks_plateau_gives_one_frame_and_rejects_bad_shapes():
    assert pick_peaks(np.array([0.0, 0.8, 0.8, 0.8, 0.0]), 0.5, 1).tolist() == [1]
    assert pick_peaks(np.zeros(0), 0.5, 1).tolist() == []
    with pytest.raises(ValueError, match=r"\[T\]"):
        pick_peaks(np.zeros((2, 2)), 0.5, 1)


def test_snap_to_grid_moves_within_tolerance_only_and_merges():
    grid = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
    out = snap_to_grid(np.array([0.45, 0.9, 1.27, 1.05]), grid, 0.1)
    # 0.45 -> 0.5, 0.9 -> 1.0, 1.05 -> 1.0 (merged with 0.9's), 1.27 is 0.23 from 1.5 and 0.27 from 1.0: kept
    assert out.tolist() == [0.5, 1.0, 1.27]
    assert snap_to_grid(np.array([0.3]), None, 1.0).tolist() == [0.3]


def test_enforce_min_section_measures_from_the_start_and_the_last_kept():
    out = enforce_min_section(np.array([0.3, 2.5, 3.0, 5.0, 6.9]), 2.0)
    assert out.tolist() == [2.5, 5.0]


def test_smooth_is_a_centred_moving_average():
    curve = np.array([[0.0], [0.0], [3.0], [0.0], [0.0]])
    assert smooth(curve, 3)[:, 0].tolist() == pytest.approx([0.0, 1.0, 1.0, 1.0, 0.0])
    assert smooth(curve, 1) is not None and smooth(curve, 1)[2, 0] == 3.0


def test_boundaries_from_probs_and_sections():
    times = np.arange(100) * 0.1 + 0.05
    probs = np.zeros(100)
    probs[[2, 31, 33, 61, 80]] = [0.9, 0.8, 0.7, 0.95, 0.6]
    post = PostprocessSection(threshold=0.5, min_distance=1.0, snap="beats", snap_tolerance=0.2, min_section=2.0)
    beats = np.arange(0, 10, 0.5)
    found = boundaries_from_probs(probs, times, post, beats)
    # 0.25 is the first section's start (dropped by min_section); 3.15 beats 3.35 (within 1 s) and snaps to 3.0;
    # 6.15 snaps to 6.0; 8.05 is 0.05 from a beat but 2.05 s after 6.0: kept, snapped to 8.0
    assert found.tolist() == [3.0, 6.0, 8.0]
    energy = np.stack([np.where(times < 3.0, 0.2, 0.8)], axis=1)
    out = sections(found, 10.0, times, energy, ("bass",))
    assert [(s["start"], s["end"]) for s in out] == [(0.0, 3.0), (3.0, 6.0), (6.0, 8.0), (8.0, 10.0)]
    assert out[0]["energy"] == {"bass": 0.2} and out[1]["energy"] == {"bass": 0.8}
