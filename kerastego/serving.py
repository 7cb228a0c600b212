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
GRPC_SCHEME = "grpc://"


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


def checked_metadata(size, tables, where):
    """{"size", "tables"} from an export's metadata signature, or ServerError naming `where`
    when the size is no positive multiple of 8 or a table is not finite and positive."""
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0 or size % 8:
        raise ServerError(f"{where}: metadata: input_size {size!r} is not a positive multiple of 8")
    try:
        tables = np.asarray(tables, dtype=np.float64).reshape(-1, 8, 8)
    except (TypeError, ValueError) as e:
        raise ServerError(f"{where}: metadata: malformed answer ({_one_line(e)})") from None
    if not (np.all(np.isfinite(tables)) and np.all(tables > 0)):
        raise ServerError(f"{where}: metadata: training quant tables are not finite positive numbers")
    return {"size": size, "tables": list(tables)}


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
            return checked_metadata(outputs["input_size"], outputs["training_quant_tables"], self.url)
        except KeyError as e:
            raise ServerError(f"{self.url}: metadata: malformed answer (no {e})") from None

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


class GrpcDetector:
    """A detector backed by TF Serving's gRPC PredictionService (grpc://host:port), through
    tensorflow-serving-api's stubs. Like RestDetector: the tile size and training quality
    come from the export's metadata signature, every reply is validated (float
    probabilities, finite, in [0, 1], one per tile) and every call has a deadline."""

    def __init__(self, target, model_name, timeout=60):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc
        self.target = target[len(GRPC_SCHEME):] if target.startswith(GRPC_SCHEME) else target
        self.where = f"{GRPC_SCHEME}{self.target}/{model_name}"
        self.model_name, self.timeout, self._grpc = model_name, timeout, grpc
        self.channel = grpc.insecure_channel(self.target, options=[("grpc.max_receive_message_length", 64 << 20),
                                                                   ("grpc.max_send_message_length", 256 << 20)])
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        metadata = self._metadata()
        if metadata is None:
            raise ServerError(f"{self.where}: the model has no {METADATA_SIGNATURE} signature: "
                              f"its tile size is unknown (export it again with bin/export)")
        self.size, self.training_tables = metadata["size"], metadata["tables"]

    def _predict(self, request):
        try:
            return self.stub.Predict(request, timeout=self.timeout)
        except self._grpc.RpcError as e:
            code = e.code().name if hasattr(e, "code") and e.code() else "UNKNOWN"
            details = e.details() if hasattr(e, "details") else e
            raise ServerError(f"{self.where}: {code}: {_one_line(details)}") from None

    def _output(self, reply, name):
        import tensorflow as tf
        if name not in reply.outputs:
            raise ServerError(f"{self.where}: the answer has no output {name!r} (it has {sorted(reply.outputs)})")
        try:
            return tf.make_ndarray(reply.outputs[name])
        except Exception as e:   # a malformed TensorProto: TF raises TypeError/ValueError/...
            raise ServerError(f"{self.where}: output {name!r} is not a tensor ({_one_line(e)})") from None

    def _metadata(self):
        from tensorflow_serving.apis import predict_pb2
        request = grpc_request(np.zeros((1, 8, 8), np.int16), np.ones((1, 8, 8)), self.model_name, METADATA_SIGNATURE)
        del request.inputs[COEFFICIENTS]                   # the metadata signature takes the table only
        try:
            reply = self._predict(request)
        except ServerError as e:
            if "INVALID_ARGUMENT" in str(e) or "NOT_FOUND" in str(e) or "FAILED_PRECONDITION" in str(e):
                return None
            raise
        assert isinstance(reply, predict_pb2.PredictResponse)
        size = self._output(reply, "input_size")
        if size.shape != () or size.dtype.kind not in "iu":
            raise ServerError(f"{self.where}: metadata: input_size is not one integer")
        return checked_metadata(int(size), self._output(reply, "training_quant_tables"), self.where)

    def __call__(self, coefficients, quant_tables):
        reply = self._predict(grpc_request(coefficients, quant_tables, self.model_name))
        probs = self._output(reply, "probability")
        if probs.dtype.kind != "f" or probs.ndim != 1:
            raise ServerError(f"{self.where}: probability is a {probs.dtype} tensor of shape {probs.shape}, "
                              f"not one float per tile")
        return check_probabilities(probs.astype(np.float64).tolist(), len(coefficients), self.where)


def server_detector(server, model_name, timeout=60):
    """GrpcDetector for grpc://host:port, RestDetector for host:port (or http://host:port)."""
    if server.startswith(GRPC_SCHEME):
        return GrpcDetector(server, model_name, timeout)
    return RestDetector(server.removeprefix("http://"), model_name, timeout=timeout)
