"""The demo data set: real scores from music21's bundled corpus in the two-file parquet layout.

``build_demo_dataset(out_dir)`` (in :mod:`chroma.demo.build`) selects pieces
(:mod:`~chroma.demo.corpus`), cuts them into fixed-length segments
(:mod:`~chroma.demo.segment`), writes each segment's notes as MIDI and renders audio
from that MIDI (:mod:`~chroma.demo.render`), takes the sung text from the score
(:mod:`~chroma.demo.lyrics`) and derives the three labels from the notes
(:mod:`~chroma.demo.labels`). Importing this package imports neither music21 nor torch.
"""
