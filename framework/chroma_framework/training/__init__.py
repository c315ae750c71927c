"""Training: the loop, optimiser groups, gradient monitoring, early stopping, checkpoints and logs."""
