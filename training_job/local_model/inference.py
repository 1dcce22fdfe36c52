"""Run the ONNX model with onnxruntime. Numpy and onnxruntime only: the local SageMaker
endpoint imports this, so it must never pull in PyTorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training_job.local_model import INPUT_NAME, MODEL_PATH, OUTPUT_NAME


def load_session(path: Path | str = MODEL_PATH):
    """An onnxruntime session on the CPU with one intra-op thread, so that several sessions
    (the endpoint's threads, the tests, other processes) share the machine politely."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def predict_probabilities(session, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """``images`` float32 ``[n, 3, 32, 32]`` (or one ``[3, 32, 32]``), RGB 0..255 -> ``[n, 2]``
    probabilities, column 0 bicycle, column 1 motorcycle."""
    batch = np.asarray(images, dtype=np.float32)
    if batch.ndim == 3:
        batch = batch[np.newaxis]
    if batch.ndim != 4 or batch.shape[1:] != (3, 32, 32):
        raise ValueError(f"expected images of shape [n, 3, 32, 32], got {list(batch.shape)}")
    if len(batch) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    parts = [
        session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(batch[start : start + batch_size])})[0]
        for start in range(0, len(batch), batch_size)
    ]
    return np.concatenate(parts).astype(np.float32, copy=False)
