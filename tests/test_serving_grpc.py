"""TF Serving's gRPC PredictionService: GrpcDetector against the stand-in that answers
Predict with the exported SavedModel itself (TF Serving's own request and reply protos)
scores as the .keras model does, tiles of many files per request, with the quality check
from the metadata signature; a stand-in that lies is one error line, never a verdict."""
import concurrent.futures as cf
import json

import numpy as np
import pytest

from harness import Counting
from kerastego.jobs.detect import KerasDetector, detect
from kerastego.jobs.scan import scan
from kerastego.serving import GrpcDetector, ServerError, server_detector

grpc = pytest.importorskip("grpc", reason="grpcio comes with tensorflow-serving-api (the test extra)")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from kerastego.export import export_savedmodel
    from kerastego.models import build_model
    from kerastego.models.quality import table_for_quality
    from kerastego.models.record import with_record
    root = tmp_path_factory.mktemp("grpc")
    model = with_record(build_model("hybrid-type2", (64, 64, 1), input_kind="coefficients"), "hybrid",
                        [table_for_quality(75)])
    model.save(root / "model.keras")
    return {"keras": str(root / "model.keras"), "saved": export_savedmodel(model, str(root / "serving"), "hybrid")}


def test_grpc_scan_equals_the_keras_models_rows(exported, corpus, tmp_path):
    from kerastego.export.standin import GrpcStandin
    with GrpcStandin(exported["saved"], "hybrid") as standin:
        remote = server_detector(standin.target, "hybrid")
        assert isinstance(remote, GrpcDetector) and remote.size == 64 and len(remote.training_tables) == 1
        batches = Counting(remote)
        scan([str(corpus)], batches, str(tmp_path / "grpc.jsonl"), "g", batch_size=8, workers=0)
        detected = detect([str(corpus / "qf30.jpg")], remote)
    scan([str(corpus)], KerasDetector(exported["keras"]), str(tmp_path / "keras.jsonl"), "g", batch_size=8,
         workers=0)
    read = [list(map(json.loads, (tmp_path / f).read_text().splitlines()[1:])) for f in ("grpc.jsonl", "keras.jsonl")]
    assert len(read[0]) == len(read[1]) >= 10
    for got, want in zip(*read):
        assert got["file"] == want["file"] and got["verdict"] == want["verdict"]
        assert got["quality_warning"] == want["quality_warning"] and got["error"] == want["error"]
        if want["probability"] is not None:
            assert got["probability"] == pytest.approx(want["probability"], abs=1e-5)
    assert batches.calls[0] == 8                                  # tiles of several files per request
    local, = detect([str(corpus / "qf30.jpg")], KerasDetector(exported["keras"]))
    assert detected[0]["quality_warning"] and detected[0]["quality_warning"] == local["quality_warning"]


def _lying_server(answer):
    """A PredictionService whose Predict replies `answer(request)` (a PredictResponse),
    with the good metadata of a 64x64 QF-unknown model."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            reply = predict_pb2.PredictResponse()
            if request.model_spec.signature_name == "metadata":
                reply.outputs["input_size"].CopyFrom(tf.make_tensor_proto(np.int32(64)))
                reply.outputs["training_quant_tables"].CopyFrom(tf.make_tensor_proto(np.full((1, 8, 8), 4.0)))
                return reply
            return answer(request, reply, context)

    server = grpc.server(cf.ThreadPoolExecutor(2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"grpc://127.0.0.1:{port}"


def _tiles(request):
    import tensorflow as tf
    return len(tf.make_ndarray(request.inputs["coefficients"]))


def _probabilities(values):
    import tensorflow as tf

    def answer(request, reply, context):
        reply.outputs["probability"].CopyFrom(tf.make_tensor_proto(values(_tiles(request))))
        return reply
    return answer


def _abort(request, reply, context):
    context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full")


LIES = {
    "nan": (_probabilities(lambda n: np.full(n, np.nan, np.float32)), "not a finite number in \\[0, 1\\]"),
    "above one": (_probabilities(lambda n: np.full(n, 7.5, np.float32)), "not a finite number in \\[0, 1\\]"),
    "one short": (_probabilities(lambda n: np.full(n - 1, 0.5, np.float32)), "expected 2 probabilities"),
    "strings": (_probabilities(lambda n: np.array([b"0.5"] * n)), "not one float per tile"),
    "no output": (lambda request, reply, context: reply, "has no output 'probability'"),
    "error status": (_abort, "RESOURCE_EXHAUSTED: queue full"),
}


@pytest.mark.parametrize("case", sorted(LIES))
def test_a_lying_grpc_server_gives_one_error_line_and_no_verdict(case, corpus):
    answer, message = LIES[case]
    server, target = _lying_server(answer)
    try:
        remote = GrpcDetector(target, "hybrid", timeout=20)
        with pytest.raises(ServerError, match=message):
            remote(np.zeros((2, 64, 64), np.int16), np.ones((2, 8, 8), np.float32))
        row, = detect([str(corpus / "wide.jpg")], remote)
    finally:
        server.stop(None)
    assert row["verdict"] is None and row["probability"] is None
    assert row["error"].startswith(f"{corpus / 'wide.jpg'}: {target}/hybrid: ")
    assert "\n" not in row["error"]


def test_a_grpc_server_that_is_not_there_is_named_at_start():
    with pytest.raises(ServerError, match="grpc://127.0.0.1:9/m: UNAVAILABLE"):
        GrpcDetector("grpc://127.0.0.1:9", "m", timeout=5)
