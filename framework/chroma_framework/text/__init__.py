"""The built-in ``precomputed`` text encoder: lyric vectors stored in the data, passed through."""
