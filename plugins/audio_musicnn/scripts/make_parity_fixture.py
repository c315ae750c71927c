"""Write ``tests/fixtures/musicnn_parity.npz``: the ORIGINAL musicnn graph's outputs on seeded clips.

This is run once, by hand, in a scratch environment with TensorFlow (never in
the Chroma venv). It was run as:

    python3.11 -m venv /tmp/tfref
    /tmp/tfref/bin/pip install "tensorflow-cpu==2.15.1" "librosa==0.8.1" soundfile
    /tmp/tfref/bin/pip install "numpy==1.23.5" "scipy==1.11.4" "scikit-learn==1.3.2"
    /tmp/tfref/bin/pip install --no-deps musicnn==0.1.0
    /tmp/tfref/bin/python plugins/audio_musicnn/scripts/make_parity_fixture.py

TensorFlow 2.15 is the last release whose bundled Keras 2 still provides the
``tf.compat.v1.layers`` musicnn is built from. librosa 0.8.1 is the last release
whose ``melspectrogram`` pads centred frames by reflection, as the librosa 0.7
musicnn 0.1.0 was published against did (0.9 pads with zeros); it needs numpy
< 1.24. numpy < 2 also keeps musicnn's ``10000 * mel_float16`` in float32, as
under the numpy < 1.17 it pins (numpy 2 would compute it in float16 and overflow).

Each clip is written to a float WAV file and passed to musicnn's own
``extractor()`` (librosa log-mel with its float16 cast, 3 s non-overlapping
patches, the TensorFlow v1 graph restored from the packaged checkpoint), so the
reference is musicnn end to end (all of a clip's patches in one graph run; see
``BATCH_SIZE`` below). The fixture keeps the clips' specs (kind, seed,
seconds) and summary statistics, not the audio; the per-patch tags, penultimate,
mean-pool and max-pool outputs of MTT_musicnn and MSD_musicnn; MTT_musicnn's
tags for the second clip with patches 1 s apart (``input_overlap=1``); and the
log-mel of the first clip from musicnn's ``batch_data``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from musicnn import configuration
from musicnn.extractor import batch_data, extractor

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from parity_clips import CLIPS, RATE, make_clip  # noqa: E402

MODELS = ("MTT_musicnn", "MSD_musicnn")
N_FRAMES = 187
# extractor() runs the graph on BATCH_SIZE patches at a time and, for every batch after the
# first, appends the FIRST batch's penultimate (and cnn1-3) features again (a musicnn bug).
# With one batch holding all of a clip's patches every feature is the graph's own.
configuration.BATCH_SIZE = 64


def main() -> None:
    out: dict[str, Any] = {  # arrays; Any because numpy's stubs type savez's **kwds like allow_pickle
        "clip_kind": np.array([kind for kind, _, _ in CLIPS]),
        "clip_seed": np.array([seed for _, seed, _ in CLIPS], dtype=np.int64),
        "clip_seconds": np.array([seconds for _, _, seconds in CLIPS], dtype=np.float64),
    }
    clips = [make_clip(*spec) for spec in CLIPS]
    out["clip_abs_sum"] = np.array([np.abs(c.astype(np.float64)).sum() for c in clips])
    out["clip_peak"] = np.array([np.abs(c).max() for c in clips], dtype=np.float64)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, clip in enumerate(clips):
            path = Path(tmp) / f"clip{i}.wav"
            sf.write(path, clip, RATE, subtype="FLOAT")
            paths.append(str(path))
        _, logmel = batch_data(paths[0], N_FRAMES, N_FRAMES)
        out["logmel_clip0"] = logmel
        for model in MODELS:
            per_clip = [extractor(p, model=model, input_length=3, extract_features=True) for p in paths]
            out[f"{model}/patches"] = np.array([len(tags) for tags, _, _ in per_clip], dtype=np.int64)
            out[f"{model}/tags"] = np.concatenate([tags for tags, _, _ in per_clip]).astype(np.float32)
            for layer in ("penultimate", "mean_pool", "max_pool"):
                out[f"{model}/{layer}"] = np.concatenate([f[layer] for _, _, f in per_clip]).astype(np.float32)
        # Patches starting 1 s apart (musicnn's input_overlap=1) on the 6.2 s clip.
        tags, _ = extractor(paths[1], model="MTT_musicnn", input_length=3, input_overlap=1, extract_features=False)
        out["MTT_musicnn/hop_1s_clip1_tags"] = tags.astype(np.float32)
    for key, value in out.items():
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise SystemExit(f"{key}: the original graph gave non-finite values; lower the clips' level")
    target = HERE.parent / "tests" / "fixtures" / "musicnn_parity.npz"
    np.savez_compressed(target, **out)
    print(f"wrote {target} ({target.stat().st_size} bytes)")
    for key, value in out.items():
        print(f"  {key}: {value.shape} {value.dtype}")


if __name__ == "__main__":
    main()
