"""Client side of TensorFlow Serving: JPEG -> coefficient tiles -> REST JSON or gRPC
PredictRequest for the exported signatures, with input validation that names the problem."""
import json
import re
import urllib.error
import urllib.request

import numpy as np

from kerastego.conventions import COEFFICIENTS, QUANT_TABLE

SIGNATURE = "serving_default"


def validate_inputs(coefficients, quant_tables, size=None):
    c = np.asarray(coefficients)
    q = np.asarray(quant_tables)
    if c.ndim != 3:
        raise ValueError(f"coefficients must have rank 3 [batch, H, W], got shape {c.shape}")
    if c.shape[1] % 8 or c.shape[2] % 8:
        raise ValueError(f"coefficient H and W must be multiples of 8, got {c.shape[1]}x{c.shape[2]}")
    if size is not None and c.shape[1:] != (size, size):
        raise ValueError(f"the model takes {size}x{size} coefficients, got {c.shape[1]}x{c.shape[2]}")
    if c.dtype != np.int16:
        raise TypeError(f"coefficients must be int16 (as stored in the JPEG), got {c.dtype}")
    if q.shape != (c.shape[0], 8, 8):
        raise ValueError(f"quant_table must have shape [batch, 8, 8] = {(c.shape[0], 8, 8)}, got {q.shape}")
    return c, q.astype(np.float32)


def rest_payload(coefficients, quant_tables, signature=SIGNATURE):
    """Body of POST /v1/models/<name>:predict (columnar 'inputs' format)."""
    c, q = validate_inputs(coefficients, quant_tables)
    return {"signature_name": signature, "inputs": {COEFFICIENTS: c.tolist(), QUANT_TABLE: q.tolist()}}


def grpc_request(coefficients, quant_tables, model_name, signature=SIGNATURE, version=None):
    """A tensorflow_serving.apis.predict_pb2.PredictRequest for PredictionService.Predict."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2
    c, q = validate_inputs(coefficients, quant_tables)
    req = predict_pb2.PredictRequest()
    req.model_spec.name = model_name
    req.model_spec.signature_name = signature
    if version is not None:
        req.model_spec.version.value = int(version)
    req.inputs[COEFFICIENTS].CopyFrom(tf.make_tensor_proto(c, dtype=tf.int16))
    req.inputs[QUANT_TABLE].CopyFrom(tf.make_tensor_proto(q, dtype=tf.float32))
    return req


class RestDetector:
    """A detector backed by a TF Serving REST endpoint (host:port)."""

    def __init__(self, server, model_name, size=None, timeout=60):
        self.url = f"http://{server}/v1/models/{model_name}:predict"
        self.timeout = timeout
        self.size = size or self._size_from_metadata(server, model_name) or self._size_from_the_signature()

    def _size_from_metadata(self, server, model_name):
        """The tile size an export before the in-graph checks wrote in its input shape
        (None when the signature takes any shape, as exports do now)."""
        with urllib.request.urlopen(f"http://{server}/v1/models/{model_name}/metadata", timeout=self.timeout) as r:
            sig = json.load(r)["metadata"]["signature_def"]["signature_def"][SIGNATURE]
        dims = sig["inputs"][COEFFICIENTS].get("tensor_shape", {}).get("dim", [])
        size = int(dims[1]["size"]) if len(dims) == 3 else -1
        return size if size > 0 else None

    def _size_from_the_signature(self):
        """Ask the signature: one 8x8 tile is refused with "this model takes SxS
        coefficients" (kerastego.export) unless the model takes 8x8 tiles."""
        probe = rest_payload(np.zeros((1, 8, 8), np.int16), np.ones((1, 8, 8), np.float32))
        req = urllib.request.Request(self.url, data=json.dumps(probe).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout):
                return 8
        except urllib.error.HTTPError as e:
            found = re.search(r"this model takes (\d+)x\1 coefficients", e.read().decode(errors="replace"))
            if not found:
                raise ValueError(f"{self.url}: the server did not say which tile size the model takes "
                                 f"(HTTP {e.code}); give it with size=") from e
            return int(found.group(1))

    def __call__(self, coefficients, quant_tables):
        body = json.dumps(rest_payload(coefficients, quant_tables)).encode()
        req = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=self.timeout) as r:
            out = json.load(r)["outputs"]
        return np.asarray(out["probability"], dtype=np.float32)
