"""Data layer: split parquet reading, decoding, collation, labels, splits,
alignment checks, the data report and precomputed embeddings.

Importing this package is cheap; submodules load torch only where they need it.
"""
