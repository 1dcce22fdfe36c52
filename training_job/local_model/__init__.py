"""The small local model the local stack serves in place of the SageMaker endpoint.

Contract of the shipped ONNX file (``vehicle_classifier.onnx`` beside this file):
input ``image``, float32 ``[batch, 3, 32, 32]``, RGB, values 0..255 (normalisation is
inside the graph); output ``probabilities``, float32 ``[batch, 2]``, calibrated softmax,
column 0 = bicycle, column 1 = motorcycle, as the built-in algorithm answers.
"""

from pathlib import Path

from scones_core.project import CLASS_NAMES

__all__ = ["CLASS_NAMES", "INPUT_NAME", "MODEL_PATH", "OUTPUT_NAME"]

MODEL_PATH = Path(__file__).with_name("vehicle_classifier.onnx")
INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
