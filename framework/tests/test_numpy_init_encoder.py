"""Issue 11 item 3: a third-party encoder drawing its init with NumPy scores identically on every load.

The plugin module is written to a temp dir and registered like a third-party plugin (factory by import path);
it draws its frozen projection from NumPy's global RNG in ``__init__``, which no torch seed controls. The run
must load the weights that produced its embeddings (saved with it), not draw new ones.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
import yaml

from chroma.plugins.registry import PluginRegistry, get_registry
from chroma_framework.cli import main
from chroma_framework.config import load_config
from chroma_framework.data.embeddings import read_embeddings
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.scoring.run import load_run
from chroma_framework.training import run_dir as rd
from chroma_framework.training.loop import train

PLUGIN_SOURCE = '''
"""A third-party MIDI encoder whose frozen weights come from NumPy's global RNG."""
import numpy as np
import torch
from pydantic import Field
from torch import nn

from chroma import Encoder, EncoderOutput, PluginConfig


class NumpyInitConfig(PluginConfig):
    dim: int = Field(default=8, gt=0)


class NumpyInitMidi(Encoder):
    name = "np_init_midi"
    version = "1.0"
    modality = "midi"

    def __init__(self, config: NumpyInitConfig) -> None:
        super().__init__()
        self.output_dim = config.dim
        weights = np.random.standard_normal((8, config.dim)).astype(np.float32)
        self.projection = nn.Parameter(torch.from_numpy(weights), requires_grad=False)

    def forward(self, batch):
        valid = batch.padding_mask().unsqueeze(-1)
        mean = (batch.events * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1)
        return EncoderOutput(torch.tanh(mean @ self.projection))
'''


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PluginRegistry:
    module = tmp_path / "plugin_src" / "np_init_plugin.py"
    module.parent.mkdir()
    module.write_text(textwrap.dedent(PLUGIN_SOURCE))
    monkeypatch.syspath_prepend(str(module.parent))
    import np_init_plugin  # noqa: PLC0415 (written above)

    from chroma import PluginSpec

    registry = PluginRegistry(get_registry().records())
    spec = PluginSpec("np_init_midi", "midi_encoder", "np_init_plugin:NumpyInitMidi", np_init_plugin.NumpyInitConfig)
    registry.register_spec(spec, distribution="chroma-np-init", version="1.0")
    monkeypatch.setattr("chroma.plugins.registry._REGISTRY", registry)
    return registry


def test_numpy_drawn_frozen_weights_come_from_the_run(registry: PluginRegistry, tmp_path: Path) -> None:
    built = [registry.build_encoder("midi_encoder", "np_init_midi", {"dim": 8}) for _ in range(2)]
    assert not torch.equal(built[0].projection, built[1].projection), "each build draws other weights"

    data = write_synthetic(tmp_path / "data", n_segments=40, seed=7, lyric_embedding_dim=8).metadata_path.parent
    config = {
        "data": {
            "root": str(data),
            "columns": {"lyric_embedding": "lyric_embedding"},
            "embeddings_path": str(tmp_path / "embeddings.parquet"),
        },
        "preprocessing": {"audio": {"duration": 1.0}},
        "model": {
            "modalities": ["text", "midi"],
            "midi_encoder": {"type": "np_init_midi", "dim": 8},
            "fusion": {"strategy": "late", "hidden_dim": 8, "mlp_dims": [8]},
        },
        "training": {"mode": "precomputed", "epochs": 1, "batch_size": 16, "progress": False},
    }
    path = tmp_path / "np.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["precompute", str(path)]) == 0
    run_dir = train(load_config(path), tmp_path / "run").run_dir
    assert (run_dir / rd.ENCODERS_DIR / "midi.safetensors").is_file()

    table = read_embeddings(tmp_path / "embeddings.parquet")
    row = int(np.flatnonzero(table.mask[:, 2])[0])
    media = pq.read_table(data / "training_segments_media.parquet", columns=["segment_id", "midi_binary"])
    ids = media.column("segment_id").to_pylist()
    blob = media.column("midi_binary")[ids.index(table.segment_ids[row])].as_py()
    midi = tmp_path / "segment.mid"
    midi.write_bytes(blob)

    scores = []
    for _ in range(3):  # every load draws NumPy numbers anew; the scores must not move
        np.random.standard_normal(5)
        run = load_run(run_dir)
        scores.append(json.dumps(run.score(midi=midi), sort_keys=True))
        embedded = run.encoders["midi"](
            run._window_inputs([run._midi_windows(midi, "first")[0][0]], None, None, None)[0]["midi"]
        )
        assert torch.allclose(embedded.pooled[0], torch.from_numpy(table.embeddings["midi"][row]), atol=1e-5)
    assert len(set(scores)) == 1, scores
