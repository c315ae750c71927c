"""basic-pitch's ONNX model on in-memory audio: windowing, onnxruntime, posteriors (never TensorFlow).

basic-pitch's own ``predict()`` reads a file with librosa and picks TensorFlow first when it is
importable. Here the array is windowed with basic-pitch's own helpers exactly as its
``run_inference`` does (2 s windows overlapping by 30 frames, half the overlap of zeros in front),
the packaged ``nmp.onnx`` runs through onnxruntime on the CPU, and the windows' posteriors are
unwrapped back to one frame axis. basic-pitch's package ``__init__`` probes for TensorFlow,
CoreML and TFLite; those imports are blocked while it loads, so TensorFlow is never imported
even where it is installed.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

#: The distribution this module runs.
DISTRIBUTION = "basic-pitch"
#: The version the cache's provenance was written with in this repository's tests and benchmarks.
SUPPORTED_VERSION = "0.4.0"
#: How to install what transcription needs (basic-pitch's metadata pulls TensorFlow: no dependencies).
INSTALL_HINT = (
    "pip install 'chroma-framework[transcription]' && pip install --no-deps basic-pitch==" + SUPPORTED_VERSION
)
#: The packaged ONNX model, relative to the ``basic_pitch`` package directory.
ONNX_MODEL = Path("saved_models") / "icassp_2022" / "nmp.onnx"
#: Output names of ``nmp.onnx`` per posterior, and its input name.
ONNX_OUTPUTS = {
    "note": "StatefulPartitionedCall:1",
    "onset": "StatefulPartitionedCall:2",
    "contour": "StatefulPartitionedCall:0",
}
ONNX_INPUT = "serving_default_input_2:0"
#: Frames by which consecutive windows overlap (basic-pitch's ``run_inference``).
OVERLAP_FRAMES = 30
#: Modules basic-pitch probes for at import; blocked so that it settles on ONNX.
_BLOCKED = ("tensorflow", "coremltools", "tflite_runtime")


class TranscriptionUnavailable(RuntimeError):
    """basic-pitch or onnxruntime is not installed (the message says how to install them)."""


def basic_pitch_version() -> str:
    """The installed basic-pitch version.

    Raises:
        TranscriptionUnavailable: basic-pitch is not installed.
    """
    try:
        return md.version(DISTRIBUTION)
    except md.PackageNotFoundError:
        raise TranscriptionUnavailable(f"MIDI transcription needs basic-pitch: {INSTALL_HINT}") from None


def _import_basic_pitch() -> tuple[ModuleType, ModuleType, ModuleType]:
    """``(constants, inference, note_creation)`` of basic-pitch, imported with TensorFlow & co. blocked."""
    blocked = [name for name in _BLOCKED if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    disabled = logging.root.manager.disable
    logging.disable(logging.WARNING)  # its "X is not installed" warnings for each backend it does not use
    try:
        from basic_pitch import constants, inference, note_creation
    except ImportError as exc:
        raise TranscriptionUnavailable(
            f"cannot import basic-pitch ({exc}); MIDI transcription needs it and its light dependencies: {INSTALL_HINT}"
        ) from None
    finally:
        logging.disable(disabled)
        for name in blocked:
            if sys.modules.get(name) is None:
                del sys.modules[name]
    return constants, inference, note_creation


def onnx_model_path() -> Path:
    """Path of the ``nmp.onnx`` file inside the installed basic-pitch package.

    Raises:
        TranscriptionUnavailable: basic-pitch is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("basic_pitch")
    if spec is None or not spec.submodule_search_locations:
        raise TranscriptionUnavailable(f"MIDI transcription needs basic-pitch: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / ONNX_MODEL
    if not path.is_file():
        raise TranscriptionUnavailable(f"basic-pitch is installed but {path} is missing; reinstall: {INSTALL_HINT}")
    return path


class BasicPitchModel:
    """basic-pitch's network through onnxruntime.

    Args:
        threads: onnxruntime intra-op threads (1: the same posteriors on every run and machine).

    Attributes:
        sample_rate: the rate the network expects (22 050 Hz).
        version: the installed basic-pitch version.
        constants, note_creation: basic-pitch's modules of those names.
    """

    def __init__(self, threads: int = 1) -> None:
        self.version = basic_pitch_version()
        self.constants, self._inference, self.note_creation = _import_basic_pitch()
        try:
            import onnxruntime as ort
        except ImportError:
            raise TranscriptionUnavailable(f"MIDI transcription needs onnxruntime: {INSTALL_HINT}") from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session: Any = ort.InferenceSession(str(onnx_model_path()), options, providers=["CPUExecutionProvider"])
        self.sample_rate = int(self.constants.AUDIO_SAMPLE_RATE)

    def posteriors(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        """Posteriors of one clip.

        Args:
            audio: ``[S]`` float32 mono samples at :attr:`sample_rate`, ``S >= 1``.

        Returns:
            ``{"note": [T, 88], "onset": [T, 88], "contour": [T, 264]}`` float32, ``T`` frames of
            ``FFT_HOP / sample_rate`` seconds (about 11.6 ms) covering the clip.
        """
        overlap = OVERLAP_FRAMES * int(self.constants.FFT_HOP)
        hop = int(self.constants.AUDIO_N_SAMPLES) - overlap
        padded = np.concatenate([np.zeros(overlap // 2, dtype=np.float32), audio.astype(np.float32, copy=False)])
        windows = np.stack([w for w, _ in self._inference.window_audio_file(padded, hop)]).astype(np.float32)
        names = list(ONNX_OUTPUTS)
        outputs = self._session.run([ONNX_OUTPUTS[n] for n in names], {ONNX_INPUT: windows})
        return {
            name: np.asarray(self._inference.unwrap_output(out, audio.shape[0], OVERLAP_FRAMES), dtype=np.float32)
            for name, out in zip(names, outputs)
        }
