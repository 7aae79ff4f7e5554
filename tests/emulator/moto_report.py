"""moto's server with Lambda REPORT lines, for optiserve's emulator tests.

moto (https://pypi.org/project/moto/, pinned in scripts/emulator.sh) serves the Lambda control plane
over real HTTP, but without Docker its Invoke runs no code and returns no log tail. This WSGI
wrapper around moto's application answers every `LogType=Tail` invocation with the log tail Lambda
would return: START, END and a REPORT line whose Duration follows a known curve of the function's
configured memory, so that a test can check that `optiserve profile` recovers it end to end:

    Duration(m) = alpha + beta * exp(-gamma * m)   (ms, m in MB), times (1 + noise * N(0, 1))

The curve is read from the function's own environment: `EMU_CURVE="alpha,beta,gamma"` (or
`EMU_CURVE_<value>` when `MODEL_NAME=<value>` is set, or when the JSON payload has the field
`"model": "<value>"`, for variants), times the payload's `"emu_scale"` (default 1; for weighted
payloads), `EMU_NOISE` (default 0.03),
`EMU_MIN_MEMORY` (below it the call is killed for lack of memory). The first call after a
configuration change is a cold start (an Init Duration), and so is a fraction `EMU_COLD_RATE`
(default 0) of the others. Nothing else of moto's answer changes.

Usage: python moto_report.py --port PORT   (then POST {"lambda": {"use_docker": false}} to
/moto-api/config before creating functions; scripts/emulator.sh does all of it).
"""

import argparse
import base64
import io
import json
import math
import random
import re
import threading
import uuid

from werkzeug.serving import run_simple

from moto.awslambda.utils import get_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

INVOKE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")
REGION = re.compile(r"Credential=[^/]+/\d+/([a-z0-9-]+)/lambda/")
ACCOUNT = "123456789012"

_lock = threading.Lock()
_last_config = {}  # function name -> (memory, env items): a change means a cold start
_rng = random.Random(20261128)


def _curve(env, payload):
    model = env.get("MODEL_NAME")
    if isinstance(payload, dict) and isinstance(payload.get("model"), str):
        model = payload["model"]
    text = env.get(f"EMU_CURVE_{model}") if model else None
    text = text or env.get("EMU_CURVE") or "200,3000,0.003"
    alpha, beta, gamma = (float(x) for x in text.split(","))
    return alpha, beta, gamma


def _find(name, region):
    # moto keeps functions in its "simple" backend once use_docker is false: ask moto which.
    return get_backend(ACCOUNT, region).get_function(name)


def _log_tail(name, region, payload):
    fn = _find(name, region)
    memory = int(fn.memory_size)
    env = dict(fn.environment_vars or {})
    alpha, beta, gamma = _curve(env, payload)
    scale = float(payload.get("emu_scale", 1.0)) if isinstance(payload, dict) else 1.0
    noise = float(env.get("EMU_NOISE", "0.03"))
    min_memory = int(env.get("EMU_MIN_MEMORY", "0"))
    request_id = str(uuid.uuid4())
    with _lock:
        key = (memory, tuple(sorted(env.items())))
        cold = _last_config.get(name) != key or _rng.random() < float(env.get("EMU_COLD_RATE", "0"))
        _last_config[name] = key
        factor = max(0.05, 1.0 + noise * _rng.gauss(0.0, 1.0))
        init = 180.0 * max(0.2, 1.0 + 0.1 * _rng.gauss(0.0, 1.0))
    duration = round(scale * (alpha + beta * math.exp(-gamma * memory)) * factor, 2)
    lines = [f"START RequestId: {request_id} Version: $LATEST"]
    error = None
    if memory < min_memory:
        lines.append("Error: Runtime exited with error: signal: killed")
        lines.append("Runtime.ExitError")
        used = memory
        error = "Unhandled"
    else:
        used = min(memory, 64)
    lines.append(f"END RequestId: {request_id}")
    report = (
        f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
        f"Billed Duration: {math.ceil(duration)} ms\tMemory Size: {memory} MB\t"
        f"Max Memory Used: {used} MB\t"
    )
    if cold:
        report += f"Init Duration: {init:.2f} ms\t"
    lines.append(report)
    return "\n".join(lines) + "\n", error


class ReportLines:
    """WSGI middleware: adds X-Amz-Log-Result (and X-Amz-Function-Error) to tailed invocations."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        match = INVOKE.match(environ.get("PATH_INFO", ""))
        tail = environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail"
        if environ.get("REQUEST_METHOD") != "POST" or not match or not tail:
            return self.app(environ, start_response)
        # Read the payload (and hand moto the same bytes).
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        try:
            payload = json.loads(raw or b"null")
        except ValueError:
            payload = None
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        body = b"".join(self.app(environ, capture))
        headers = captured.get("headers", [])
        if captured.get("status", "").startswith("200"):
            name = match.group(1).replace("%3A", ":").split(":")[-1]
            found = REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
            region = found.group(1) if found else "us-east-1"
            log, error = _log_tail(name, region, payload)
            drop = {"x-amz-log-result", "x-amz-function-error"}
            headers = [(k, v) for k, v in headers if k.lower() not in drop]
            headers.append(("X-Amz-Log-Result", base64.b64encode(log.encode()[-4096:]).decode()))
            if error:
                headers.append(("X-Amz-Function-Error", error))
        start_response(captured.get("status", "500 INTERNAL SERVER ERROR"), headers)
        return [body]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, ReportLines(app), threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
