"""Frame targets from cue times and audio energy, and the tolerant / plain / energy losses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from chroma.frame_heads.base import FrameTiming
from chroma_framework.config.structure import StructureTargetsSection
from chroma_framework.structure.losses import FrameHeadLoss, FrameLoss, dilate, masked_mse, tolerant_bce
from chroma_framework.structure.targets import band_energy, boundary_frames, resample_curve


def test_boundary_frames_marks_the_nearest_frame_and_drops_outside_and_nan():
    timing = FrameTiming(hop=0.5, offset=0.25)
    times = torch.tensor([[0.3, 1.74, 9.0], [math.nan, 0.0, math.nan]])
    out = boundary_frames(times, timing, 6)
    # 0.3 -> frame 0 (0.25), 1.74 -> frame 3 (1.75), 9.0 is past frame 5; 0.0 -> frame 0 (round(-0.5) = 0)
    assert out[0].nonzero().flatten().tolist() == [0, 3]
    assert out[1].nonzero().flatten().tolist() == [0]


def test_resample_curve_interpolates_at_frame_centres_and_is_nan_past_the_end():
    curve = torch.tensor([[[0.0], [1.0], [2.0], [3.0]]])  # 10 Hz: 0 .. 0.3 s
    out = resample_curve(curve, 10.0, FrameTiming(hop=0.15, offset=0.0), 4)
    assert out[0, :3, 0].tolist() == pytest.approx([0.0, 1.5, 3.0])
    assert math.isnan(float(out[0, 3, 0]))


def test_band_energy_follows_the_band_that_gets_louder():
    rate = 8000
    t = np.arange(2 * rate) / rate
    low = np.sin(2 * np.pi * 100 * t) * np.where(t < 1.0, 0.01, 1.0)
    high = np.sin(2 * np.pi * 3000 * t) * 0.3
    section = StructureTargetsSection(energy_bands_hz=[0.0, 1000.0], energy_rate=20.0)
    energy = band_energy((low + high).astype(np.float32), rate, section)
    assert energy.shape == (41, 2) and energy.min() >= 0 and energy.max() <= 1
    assert energy[5:15, 0].mean() < 0.2 and energy[25:35, 0].mean() > 0.8  # the bass band jumps at 1 s
    assert np.ptp(energy[5:35, 1]) < 0.3  # the high band stays level


def test_dilate_spreads_each_positive_by_n_frames():
    target = torch.zeros(1, 9, 1)
    target[0, 4, 0] = 1
    assert dilate(target, 2)[0, :, 0].tolist() == [0, 0, 1, 1, 1, 1, 1, 0, 0]
    assert torch.equal(dilate(target, 0), target)


def test_tolerant_loss_accepts_firing_around_the_boundary_that_plain_bce_punishes():
    target = torch.zeros(1, 20, 1)
    target[0, 10, 0] = 1
    mask = torch.ones(1, 20, dtype=torch.bool)
    around = torch.full((1, 20, 1), -6.0)
    around[0, 9:12, 0] = 6.0  # fires on the boundary frame and one frame either side
    tolerant, plain = tolerant_bce(around, target, mask, 1), tolerant_bce(around, target, mask, 0)
    assert float(tolerant) < 0.01 and float(plain) > 0.5


def test_losses_ignore_padded_frames_and_unknown_targets():
    target = torch.zeros(2, 8, 1)
    target[:, 2, 0] = 1
    mask = torch.ones(2, 8, dtype=torch.bool)
    mask[1, 5:] = False
    logits = torch.randn(2, 8, 1)
    garbage = logits.clone()
    garbage[1, 5:] = 1e4  # padded frames: any value
    assert torch.equal(tolerant_bce(logits, target, mask, 1), tolerant_bce(garbage, target, mask, 1))
    energy = torch.rand(2, 8, 1)
    truth = energy.clone()
    truth[0, 0, 0] = math.nan
    truth[1, 6:] = 5.0  # past the mask
    assert float(masked_mse(energy, truth, mask)) == pytest.approx(0.0)


def test_frame_loss_is_the_weighted_sum_of_its_heads():
    timing = FrameTiming(hop=0.5)
    heads = {
        "b": FrameHeadLoss("boundary", ("boundary",), timing, "tolerant", 1, 2.0),
        "e": FrameHeadLoss("energy", ("bass",), timing, "mse", 0, 0.5),
    }
    stored = {"boundary": torch.tensor([[1.0, math.nan]]), "energy": torch.full((1, 10, 1), 0.25)}
    frames = {"b": torch.zeros(1, 4, 1), "e": torch.zeros(1, 4, 1)}
    masks = {k: torch.ones(1, 4, dtype=torch.bool) for k in frames}
    total, per_head = FrameLoss(heads, 2.0)(frames, masks, stored)
    assert float(per_head["e"]) == pytest.approx(0.0625)  # sigmoid(0) = 0.5 against 0.25
    assert float(total) == pytest.approx(2.0 * float(per_head["b"]) + 0.5 * 0.0625)
    assert float(FrameLoss({}, 2.0).batch_loss(frames, masks, {})) == 0.0


def _metadata(tmp_path, rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from chroma_framework.config.schema import ChromaConfig

    table = pa.table(
        {
            "segment_id": [r[0] for r in rows],
            "boundary_times": pa.array([r[1] for r in rows], pa.list_(pa.float64())),
            "cue_names": pa.array([r[2] for r in rows], pa.list_(pa.string())),
            "bpm": pa.array([r[3] for r in rows], pa.float64()),
            "first_beat": pa.array([r[4] for r in rows], pa.float64()),
        }
    )
    pq.write_table(table, tmp_path / "meta.parquet")
    return ChromaConfig.model_validate(
        {
            "data": {"root": str(tmp_path), "metadata_path": "meta.parquet"},
            "structure": {"targets": {"snap_to_beats": True}},
        }
    )


def test_targets_from_metadata_snap_to_the_bpm_grid_and_pick_named_events(tmp_path):
    from chroma_framework.structure.targets import read_cues, target_tensors

    config = _metadata(
        tmp_path,
        [("a", [0.1, 2.05, 4.4], ["intro", "drop", "outro"], 120.0, 0.0), ("b", None, None, None, None)],
    )
    cues = read_cues(config, ["a", "b"], end=10.0)
    assert cues["a"].beats is not None and cues["a"].beats[:3].tolist() == [0.0, 0.5, 1.0]
    assert cues["b"].boundaries is None and cues["b"].beats is None
    stored = target_tensors(config, [cues["a"], cues["b"]], None, ["drop"])
    assert stored["boundary"][0].tolist() == [0.0, 2.0, 4.5]  # snapped to the 120 BPM grid from 0 s
    assert torch.isnan(stored["boundary"][1]).all()
    assert stored["event:drop"][0].tolist() == [2.0]  # the drop cue, snapped like every boundary
    assert "energy" not in stored


def test_malformed_cues_name_the_segment_and_column(tmp_path):
    from chroma.errors import ConfigError
    from chroma_framework.structure.targets import read_cues

    config = _metadata(tmp_path, [("a", [3.0, 1.0], ["x", "y"], 120.0, 0.0)])
    with pytest.raises(ConfigError, match="segment 'a'.*boundary_times"):
        read_cues(config, ["a"])
    config = _metadata(tmp_path, [("a", [1.0, 3.0], ["x"], 120.0, 0.0)])
    with pytest.raises(ConfigError, match="1 names for 2 boundaries"):
        read_cues(config, ["a"])
