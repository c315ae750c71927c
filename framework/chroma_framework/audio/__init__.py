"""Audio preprocessing: decoding to a fixed-length window, resampling, training-time augmentation."""
