"""Chroma ``musicnn`` audio encoder: the pretrained musicnn tagger in PyTorch, weights read without TensorFlow."""
