"""Audio preprocessing: resampling, fitting to a fixed length, mel spectrograms, augmentation."""
