"""hMLP stem: video frames to patch tokens with a hierarchical MLP instead of a vision encoder.

A `video_patch` x `video_patch` patch (40 x 40) becomes one token. The stem first embeds each
`hmlp_pixels` block (5 x 5 x RGB) on its own, then repeatedly merges 2 x 2 neighbouring blocks with
a linear layer (5 -> 10 -> 20 -> 40 pixels), as in the hierarchical-MLP patchify of Touvron et al.
No pixel ever mixes with another patch, so it is equivalent to a stack of stride-2 convolutions.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch.nn.functional as F
from torch import Tensor, nn

from inference.network.config import ModelConfig


class HMLPStem(nn.Module):
    """uint8 frames [B, S, S, 3] -> patch tokens [B, (S / video_patch) ** 2, d_model], row-major."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.merges_count = (config.video_patch // config.hmlp_pixels).bit_length() - 1
        self.first = nn.Linear(config.hmlp_pixels**2 * 3, config.hmlp_dim)
        widths = [config.hmlp_dim] * self.merges_count + [config.d_model]
        self.merges = nn.ModuleList(nn.Linear(4 * widths[i], widths[i + 1]) for i in range(self.merges_count))
        self._permutation = self._block_order(self.merges_count)

    @staticmethod
    def _block_order(k: int) -> list[int]:
        """Permutation from [B, gh, a1..ak, r, gw, b1..bk, c, ch] to [B, gh, gw, a1, b1, .., ak, bk, r, c, ch].

        Row index inside a patch is ((a1 * 2 + a2) * 2 + ..) * pixels + r (a1 the coarsest bit), the
        same for columns with b; pairing (ai, bi) puts each 2 x 2 merge group in adjacent dims.
        """
        rows = list(range(2, 2 + k))
        cols = list(range(k + 4, 2 * k + 4))
        pairs = [d for pair in zip(rows, cols, strict=True) for d in pair]
        return [0, 1, k + 3, *pairs, k + 2, 2 * k + 4, 2 * k + 5]

    def forward(self, frames: Tensor) -> Tensor:
        cfg = self.config
        batch, k, p = frames.shape[0], self.merges_count, cfg.hmlp_pixels
        grid = cfg.video_size // cfg.video_patch
        x = frames.float() * (1.0 / 127.5) - 1.0
        x = x.reshape(batch, grid, *([2] * k), p, grid, *([2] * k), p, 3).permute(self._permutation)
        x = F.gelu(self.first(x.reshape(*x.shape[: 3 + 2 * k], p * p * 3)))
        for i, merge in enumerate(self.merges):
            x = merge(x.reshape(*x.shape[: x.dim() - 3], -1))
            if i + 1 < len(self.merges):
                x = F.gelu(x)
        return x.reshape(batch, grid * grid, cfg.d_model)


def fit_frame(frame: npt.NDArray[np.uint8], size: int) -> npt.NDArray[np.uint8]:
    """uint8 [H, W, 3] -> [size, size, 3]: each output pixel is the input pixel under its centre
    (nearest neighbour, integer arithmetic only, so every machine picks the same pixels). A frame
    already at the size is returned as is. Non-square frames are stretched, not cropped."""
    height, width = frame.shape[0], frame.shape[1]
    if height == size and width == size:
        return frame
    centres = 2 * np.arange(size) + 1
    rows, cols = centres * height // (2 * size), centres * width // (2 * size)
    return np.ascontiguousarray(frame[rows[:, None], cols[None, :]])
