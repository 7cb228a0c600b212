"""Client side of TensorFlow Serving: JPEG -> coefficient tiles -> REST JSON or gRPC
PredictRequest for the exported signatures, with input validation that names the problem."""
import json
import re
import threading
import urllib.error
import urllib.request

import numpy as np

from kerastego.conventions import COEFFICIENTS, METADATA_SIGNATURE, QUANT_TABLE

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


class ServerError(RuntimeError):
    """A TF Serving endpoint that failed or answered something no verdict can rest on; the
    message names the server and the problem in one line."""


def _one_line(text, limit=200):
    text = " ".join(str(text).split())
    return text[:limit] + ("..." if len(text) > limit else "")


def check_probabilities(values, count, where):
    """`values` as float32 when it is a list of `count` numbers, each finite and in [0, 1];
    ServerError naming `where` otherwise (strings, booleans, NaN, 7.5, a short list...)."""
    if not isinstance(values, list) or len(values) != count:
        got = f"{len(values)} values" if isinstance(values, list) else type(values).__name__
        raise ServerError(f"{where}: expected {count} probabilities (one per tile), got {got}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ServerError(f"{where}: a probability is not a number: {_one_line(repr(v), 40)}")
        if not (np.isfinite(v) and 0.0 <= v <= 1.0):
            raise ServerError(f"{where}: a probability is not a finite number in [0, 1]: {v!r}")
    return np.asarray(values, dtype=np.float32)


def _fetch(request, timeout):
    """(status, body bytes) of one HTTP exchange, the whole of it within `timeout` seconds
    (a server that sends a byte at a time never outlasts it)."""
    result = {}

    def exchange():
        try:
            with urllib.request.urlopen(request, timeout=timeout) as r:
                result["reply"] = (r.status, r.read())
        except urllib.error.HTTPError as e:
            result["reply"] = (e.code, e.read())
        except (urllib.error.URLError, OSError, ValueError) as e:
            result["error"] = e

    worker = threading.Thread(target=exchange, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise ServerError(f"{request.full_url}: no whole answer within {timeout:g} s")
    if "error" in result:
        reason = getattr(result["error"], "reason", result["error"])
        raise ServerError(f"{request.full_url}: {_one_line(reason)}")
    return result["reply"]


class RestDetector:
    """A detector backed by a TF Serving REST endpoint (host:port). Every reply is validated
    (JSON, numbers, finite, in [0, 1], one per tile) and every request bounded in time."""

    def __init__(self, server, model_name, size=None, timeout=60):
        self.server = server
        self.base = f"http://{server}/v1/models/{model_name}"
        self.url = f"{self.base}:predict"
        self.timeout = timeout
        metadata = self._metadata()
        self.training_tables = metadata["tables"] if metadata else []
        self.size = size or (metadata and metadata["size"]) or self._size_from_the_signature()

    def _post(self, payload):
        """(status, parsed JSON) of a POST to :predict."""
        req = urllib.request.Request(self.url, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
        status, body = _fetch(req, self.timeout)
        try:
            return status, json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ServerError(f"{self.url}: HTTP {status}, and the answer is not JSON: "
                              f"{_one_line(body[:80].decode(errors='replace'))}") from None

    def _metadata(self):
        """{"size", "tables"} from the export's metadata signature; None for an export that
        has none (its verdicts then carry "quality unknown")."""
        status, reply = self._post({"signature_name": METADATA_SIGNATURE,
                                    "inputs": {QUANT_TABLE: np.ones((1, 8, 8)).tolist()}})
        if status in (400, 404) and isinstance(reply, dict) and "error" in reply:
            return None
        outputs = reply.get("outputs") if isinstance(reply, dict) else None
        if status != 200 or not isinstance(outputs, dict):
            raise ServerError(f"{self.url}: metadata: HTTP {status}: {_one_line(reply)}")
        try:
            size = outputs["input_size"]
            tables = np.asarray(outputs["training_quant_tables"], dtype=np.float64).reshape(-1, 8, 8)
        except (KeyError, TypeError, ValueError) as e:
            raise ServerError(f"{self.url}: metadata: malformed answer ({_one_line(e)})") from None
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0 or size % 8:
            raise ServerError(f"{self.url}: metadata: input_size {size!r} is not a positive multiple of 8")
        if not (np.all(np.isfinite(tables)) and np.all(tables > 0)):
            raise ServerError(f"{self.url}: metadata: training quant tables are not finite positive numbers")
        return {"size": size, "tables": list(tables)}

    def _size_from_the_signature(self):
        """Ask the signature: one 8x8 tile is refused with "this model takes SxS
        coefficients" (kerastego.export) unless the model takes 8x8 tiles."""
        status, reply = self._post(rest_payload(np.zeros((1, 8, 8), np.int16), np.ones((1, 8, 8), np.float32)))
        if status == 200:
            return 8
        found = re.search(r"this model takes (\d+)x\1 coefficients", json.dumps(reply))
        if not found:
            raise ServerError(f"{self.url}: the server did not say which tile size the model takes "
                              f"(HTTP {status}); give it with size=")
        return int(found.group(1))

    def __call__(self, coefficients, quant_tables):
        status, reply = self._post(rest_payload(coefficients, quant_tables))
        if status != 200:
            detail = reply.get("error", reply) if isinstance(reply, dict) else reply
            raise ServerError(f"{self.url}: HTTP {status}: {_one_line(detail)}")
        outputs = reply.get("outputs") if isinstance(reply, dict) else None
        if not isinstance(outputs, dict) or "probability" not in outputs:
            raise ServerError(f"{self.url}: the answer has no outputs.probability: {_one_line(reply)}")
        return check_probabilities(outputs["probability"], len(coefficients), self.url)
