"""The demo data set: real scores from music21's bundled corpus in the two-file parquet layout.

``build_demo_dataset(out_dir)`` (in :mod:`chroma_demo.build`) selects pieces
(:mod:`~chroma_demo.corpus`), cuts them into fixed-length segments
(:mod:`~chroma_demo.segment`), writes each segment's notes as MIDI and renders audio
from that MIDI (:mod:`~chroma_demo.render`), takes the sung text from the score
(:mod:`~chroma_demo.lyrics`) and derives the three labels from the notes
(:mod:`~chroma_demo.labels`). Importing this package imports neither music21 nor torch.
"""
