"""A local stand-in for TensorFlow Serving's gRPC PredictionService: Predict answered by
a SavedModel's own signatures, with TF Serving's request and reply protos. It lets a
client (GrpcDetector, bin/scan --server grpc://...) be tried and measured where no TF
Serving binary can be installed; it is no server for production (no batching, no
model versions, no TLS)."""
import concurrent.futures as cf

import numpy as np


def _servicer(signatures, model_name):
    """A PredictionServiceServicer over {signature name: concrete function}."""
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            if request.model_spec.name != model_name:
                context.abort(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: {request.model_spec.name}")
            name = request.model_spec.signature_name or "serving_default"
            if name not in signatures:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f'Serving signature key "{name}" not found.')
            fn = signatures[name]
            specs = fn.structured_input_signature[1]
            try:
                inputs = {k: tf.constant(tf.make_ndarray(v), specs[k].dtype) for k, v in request.inputs.items()}
                out = fn(**inputs)
            except (KeyError, TypeError, ValueError, tf.errors.InvalidArgumentError) as e:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(getattr(e, "message", e)))
            reply = predict_pb2.PredictResponse()
            reply.model_spec.name = model_name
            reply.model_spec.signature_name = name
            for key, value in out.items():
                reply.outputs[key].CopyFrom(tf.make_tensor_proto(np.asarray(value)))
            return reply

    return Servicer()


class GrpcStandin:
    """A gRPC PredictionService on 127.0.0.1 (a free port) serving the SavedModel version
    folder `saved_model` as `model_name`; a context manager. `target` is what
    GrpcDetector takes."""

    def __init__(self, saved_model, model_name="kerastego", threads=4, trust_model=False):
        import grpc
        import tensorflow as tf
        from tensorflow_serving.apis import prediction_service_pb2_grpc
        from kerastego.export.savedmodel import check_saved_model_ops
        if not trust_model:
            check_saved_model_ops(saved_model)
        self.loaded = tf.saved_model.load(saved_model)
        self.server = grpc.server(cf.ThreadPoolExecutor(threads),
                                  options=[("grpc.max_receive_message_length", 256 << 20)])
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            _servicer(dict(self.loaded.signatures), model_name), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.target = f"grpc://127.0.0.1:{self.port}"

    def __enter__(self):
        self.server.start()
        return self

    def __exit__(self, *exc):
        self.server.stop(grace=None)
