"""MIDI transcribed from audio with basic-pitch (Spotify's ICASSP 2022 model, Apache-2.0), ONNX only.

* :mod:`.model`: basic-pitch's network through onnxruntime on in-memory arrays (never TensorFlow);
* :mod:`.notes`: posteriors to notes with basic-pitch's note creation, notes to MIDI bytes with symusic;
* :mod:`.transcriber`: one clip to MIDI bytes or no MIDI and the reason (bad, silent, too short, no notes);
* :mod:`.run`: ``chroma transcribe``: every segment with audio and no MIDI, resumable, keyed by model,
  thresholds and audio content, written to the cache of :mod:`chroma_framework.data.transcribed_midi`.

Needs the ``transcription`` extra and ``pip install --no-deps basic-pitch==0.4.0`` (its metadata pulls
TensorFlow, which is never used). Importing this package imports none of them.
"""
