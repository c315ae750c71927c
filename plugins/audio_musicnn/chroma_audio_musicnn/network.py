"""The musicnn network (Pons & Serra, ISMIR 2019) in PyTorch, one 3 s log-mel patch per row.

Layout follows musicnn's ``models.build_musicnn`` (TensorFlow v1): input batch
norm; front end of two timbral blocks (vertical 7x38 and 7x67 kernels over
time x mel, 204 filters) and three temporal blocks (128x1, 64x1, 32x1 kernels,
51 filters), each max-pooled over the mel axis; a mid-end of three 7-frame
convolutions (64 filters) with residual connections, densely concatenated with
the front end (753 features per frame); a back end pooling over time (max and
mean), batch norm, a 200-unit dense layer (the penultimate features) and a
50-tag dense output.

Batch norms always use the checkpoint's moving statistics (also in training
mode), so fine-tuning on few patches does not replace them by batch noise and
rows stay independent; their scale and shift are trainable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: Mel bands and frames (3 s at 16 kHz, hop 256) of one patch.
N_MELS = 96
PATCH_FRAMES = 187
#: ``tf.compat.v1.layers.batch_normalization``'s epsilon.
BN_EPS = 1e-3
#: Front-end widths: ``int(1.6 * 128)`` timbral and ``int(1.6 * 32)`` temporal filters.
TIMBRAL_FILTERS = 204
TEMPORAL_FILTERS = 51
#: Timbral kernels span 7 frames and ``int(0.4 * 96)`` / ``int(0.7 * 96)`` mel bands.
TIMBRAL_BANDS = (38, 67)
TEMPORAL_FRAMES = (128, 64, 32)
MIDEND_FILTERS = 64
FRONTEND_DIM = len(TIMBRAL_BANDS) * TIMBRAL_FILTERS + len(TEMPORAL_FRAMES) * TEMPORAL_FILTERS  # 561
POOL_DIM = FRONTEND_DIM + 3 * MIDEND_FILTERS  # 753
PENULTIMATE_DIM = 200
NUM_TAGS = 50
DROPOUT = 0.5


class FrozenStatsBatchNorm(nn.Module):
    """Batch norm over dim 1 with fixed moving statistics and trainable ``weight`` / ``bias`` ``[C]``."""

    running_mean: Tensor
    running_var: Tensor

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: Tensor) -> Tensor:
        """``x [N, C, ...]`` -> same shape."""
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, BN_EPS)


class ConvBlock(nn.Module):
    """Conv (TF ``same`` time padding, frequency ``valid``) -> ReLU -> batch norm -> max over the mel axis."""

    def __init__(self, filters: int, frames: int, bands: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, filters, kernel_size=(frames, bands))
        self.bn = FrozenStatsBatchNorm(filters)
        # TensorFlow's "same" puts the extra pad of an even kernel after the input.
        self.time_pad = ((frames - 1) // 2, frames // 2)

    def forward(self, x: Tensor) -> Tensor:
        """``x [N, 1, T, 96]`` -> ``[N, filters, T]``."""
        x = F.pad(x, (0, 0, *self.time_pad))
        return self.bn(F.relu(self.conv(x))).amax(dim=-1)


class MidendLayer(nn.Module):
    """7-frame convolution over every feature of the previous layer -> ReLU -> batch norm."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_features, MIDEND_FILTERS, kernel_size=7, padding=3)
        self.bn = FrozenStatsBatchNorm(MIDEND_FILTERS)

    def forward(self, x: Tensor) -> Tensor:
        """``x [N, in_features, T]`` -> ``[N, 64, T]``."""
        return self.bn(F.relu(self.conv(x)))


class MusicnnNetwork(nn.Module):
    """Log-mel patches ``[N, 187, 96]`` -> per-patch ``tags``, ``penultimate``, ``mean_pool``, ``max_pool``."""

    def __init__(self) -> None:
        super().__init__()
        self.input_bn = FrozenStatsBatchNorm(1)
        self.timbral = nn.ModuleList(ConvBlock(TIMBRAL_FILTERS, 7, bands) for bands in TIMBRAL_BANDS)
        self.temporal = nn.ModuleList(ConvBlock(TEMPORAL_FILTERS, frames, 1) for frames in TEMPORAL_FRAMES)
        self.midend = nn.ModuleList(
            [MidendLayer(FRONTEND_DIM), MidendLayer(MIDEND_FILTERS), MidendLayer(MIDEND_FILTERS)]
        )
        self.pool_bn = FrozenStatsBatchNorm(2 * POOL_DIM)
        self.dense = nn.Linear(2 * POOL_DIM, PENULTIMATE_DIM)
        self.dense_bn = FrozenStatsBatchNorm(PENULTIMATE_DIM)
        self.tags = nn.Linear(PENULTIMATE_DIM, NUM_TAGS)
        self.dropout = nn.Dropout(DROPOUT)

    def forward(self, patches: Tensor) -> dict[str, Tensor]:
        """Encode patches.

        Args:
            patches: ``[N, T, 96]`` log-mel frames (``T = 187`` for musicnn's 3 s patches).

        Returns:
            ``mean_pool`` and ``max_pool`` ``[N, 753]``, ``penultimate`` ``[N, 200]`` and
            ``tags`` ``[N, 50]`` (sigmoid probabilities).
        """
        x = self.input_bn(patches.unsqueeze(1))  # [N, 1, T, 96]
        front = torch.cat([block(x) for block in (*self.timbral, *self.temporal)], dim=1)  # [N, 561, T]
        mid1 = self.midend[0](front)
        mid2 = self.midend[1](mid1) + mid1
        mid3 = self.midend[2](mid2) + mid2
        features = torch.cat([front, mid1, mid2, mid3], dim=1)  # [N, 753, T]
        max_pool, mean_pool = features.amax(dim=-1), features.mean(dim=-1)
        # TensorFlow flattens [753, 2] (max, mean) row-major: features interleaved.
        pooled = torch.stack([max_pool, mean_pool], dim=-1).flatten(1)
        penultimate = self.dense_bn(F.relu(self.dense(self.dropout(self.pool_bn(pooled)))))
        tags = torch.sigmoid(self.tags(self.dropout(penultimate)))
        return {"mean_pool": mean_pool, "max_pool": max_pool, "penultimate": penultimate, "tags": tags}
