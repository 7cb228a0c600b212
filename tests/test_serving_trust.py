"""The TF Serving REST client trusts no reply: every misbehaviour of a stand-in server
is one error line naming the server and the problem, within the time bound; and the
quality check works through the export's metadata signature."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from kerastego.jobs.detect import detect
from kerastego.serving import RestDetector, ServerError

SIZE = 64
GOOD_METADATA = {"outputs": {"input_size": SIZE, "training_quant_tables": [np.full((8, 8), 4.0).tolist()]}}


def _serve(predict, metadata=GOOD_METADATA):
    """A stand-in speaking TF Serving's REST :predict, with `predict(tiles) -> (status, body bytes)`."""
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if body.get("signature_name") == "metadata":
                status, data = (200, json.dumps(metadata).encode()) if metadata else (
                    400, b'{"error": "signature metadata not found"}')
            else:
                status, data = predict(len(body["inputs"]["coefficients"]))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            if callable(data):
                data(self.wfile)
            else:
                self.wfile.write(data)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _drip(wfile):
    """One byte every 1.5 s: each read is well inside a socket timeout, the whole never ends in time."""
    for b in b'{"outputs": {"probability": [0.5]}}':
        wfile.write(bytes([b]))
        wfile.flush()
        time.sleep(1.5)


MISBEHAVIOURS = {
    "out of range": (lambda n: (200, json.dumps({"outputs": {"probability": [7.5] * n}}).encode()),
                     "not a finite number in [0, 1]: 7.5"),
    "one fewer": (lambda n: (200, json.dumps({"outputs": {"probability": [0.5] * (n - 1)}}).encode()),
                  "expected 1 probabilities (one per tile), got 0 values"),
    "strings": (lambda n: (200, json.dumps({"outputs": {"probability": ["0.9"] * n}}).encode()),
                "a probability is not a number: '0.9'"),
    "nan": (lambda n: (200, b'{"outputs": {"probability": [NaN]}}'), "not a finite number in [0, 1]: nan"),
    "garbage": (lambda n: (200, b"<html>oops"), "the answer is not JSON"),
    "http 500": (lambda n: (500, b'{"error": "internal"}'), "HTTP 500: internal"),
    "http 404": (lambda n: (404, b'{"error": "Servable not found"}'), "HTTP 404: Servable not found"),
    "no outputs": (lambda n: (200, b'{"predictions": [1]}'), "no outputs.probability"),
    "drip": (lambda n: (200, _drip), "no whole answer within 3 s"),
}


@pytest.mark.parametrize("case", sorted(MISBEHAVIOURS))
def test_a_misbehaving_server_gives_one_error_line_and_no_verdict(case, real_jpegs):
    predict, problem = MISBEHAVIOURS[case]
    server = _serve(predict)
    try:
        where = f"127.0.0.1:{server.server_port}"
        detector = RestDetector(where, "kerastego", timeout=3)
        t = time.monotonic()
        rows = detect([str(real_jpegs[0])], detector)
        assert time.monotonic() - t < 60           # the bound holds; 3 s give or take the machine
    finally:
        server.shutdown()
    (row,) = rows
    assert row["verdict"] is None and row["probability"] is None
    assert where in row["error"] and problem in row["error"] and "\n" not in row["error"]


def test_a_server_whose_metadata_lies_is_refused_at_start():
    server = _serve(lambda n: (200, b"{}"), metadata={"outputs": {"input_size": "64", "training_quant_tables": []}})
    try:
        with pytest.raises(ServerError, match=r"127\.0\.0\.1:\d+.*input_size '64' is not a positive multiple of 8"):
            RestDetector(f"127.0.0.1:{server.server_port}", "kerastego")
    finally:
        server.shutdown()


def test_quality_is_checked_through_the_server_and_unknown_without_metadata(real_jpegs):
    """The stand-in's metadata records a QF~95-like flat table: every QF75 file is flagged;
    a server without the metadata signature (an older export) marks every verdict unknown."""
    ok = lambda n: (200, json.dumps({"outputs": {"probability": [0.25] * n}}).encode())  # noqa: E731
    for metadata, expect in ((GOOD_METADATA, "quality differs from training"), (None, "quality unknown")):
        server = _serve(ok, metadata)
        try:
            rows = detect([str(real_jpegs[0])], RestDetector(f"127.0.0.1:{server.server_port}", "kerastego",
                                                             size=None if metadata else SIZE))
        finally:
            server.shutdown()
        assert rows[0]["verdict"] == "cover" and rows[0]["quality_warning"].startswith(expect)
