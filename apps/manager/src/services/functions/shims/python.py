# Hearth's function shim for Python, run in the guest: `check` loads the handler and exits (its
# error on stdout as JSON), `serve` loads it and answers invocations on 127.0.0.1:PORT, JSON lines
# multiplexed by id on long-lived connections, a thread per invocation. Output is captured per
# invocation thread.
import importlib.util
import json
import os
import socket
import socketserver
import sys
import threading
import time
import traceback

mode, task_dir, handler_spec, port = sys.argv[1:5]
module_name, export_name = handler_spec.rsplit(".", 1)
MAX_LOG = 64 * 1024
CUT = "\n[hearth: output past 64 KiB dropped]\n"
local = threading.local()


class Capture:
    """sys.stdout/sys.stderr: a copy of what an invocation's thread prints goes to its log, up to
    MAX_LOG, then the marker; the rest is dropped, also from the guest's own log file (a handler
    printing without end must not fill the guest's disk or the manager's memory)."""

    def __init__(self, real):
        self.real = real

    def write(self, s):
        buf = getattr(local, "logs", None)
        if buf is None:
            return self.real.write(s)
        if local.cut:
            return len(s)
        room = MAX_LOG - local.size
        if len(s) > room:
            local.cut = True
            s = s[:room] + CUT
        buf.append(s)
        local.size += len(s)
        return self.real.write(s)

    def flush(self):
        self.real.flush()

    def __getattr__(self, name):
        return getattr(self.real, name)


def error_of(e):
    # The handler's frames only: the shim's own and importlib's are noise to its author.
    frames = [
        f
        for f in traceback.extract_tb(e.__traceback__)
        if f.filename != __file__ and not f.filename.startswith("<frozen")
    ]
    lines = ["Traceback (most recent call last):", *"".join(traceback.format_list(frames)).rstrip("\n").split("\n")] if frames else []
    lines += "".join(traceback.format_exception_only(type(e), e)).rstrip("\n").split("\n")
    return {"type": type(e).__name__, "message": str(e), "stack": lines}


def load():
    sys.path.insert(0, task_dir)
    path = os.path.join(task_dir, module_name + ".py")
    spec = importlib.util.spec_from_file_location(module_name.replace("/", "."), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    fn = getattr(mod, export_name, None)
    if not callable(fn):
        raise AttributeError(f'{path} has no function "{export_name}"')
    return fn


class Context:
    def __init__(self, req):
        self.aws_request_id = req["requestId"]
        self.request_id = req["requestId"]
        self.function_name = req["functionName"]
        self.function_version = str(req["version"])
        self.memory_limit_in_mb = req["memoryMib"]
        self._deadline = time.time() + req["timeoutMs"] / 1000

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.time()) * 1000))


def invoke(fn, req):
    local.logs = []
    local.size = 0
    local.cut = False
    t0 = time.perf_counter()
    try:
        result = fn(req["event"], Context(req))
        try:
            # NaN and infinities are no JSON: the manager would refuse the whole answer line.
            out = {"ok": True, "result": json.loads(json.dumps(result, allow_nan=False))}
        except (TypeError, ValueError, RecursionError) as e:
            out = {
                "ok": False,
                "error": {
                    "type": "ResultNotSerializable",
                    "message": f"The handler's return value is not JSON-serializable: {e}",
                    "stack": [],
                },
            }
    except Exception as e:  # the handler's error goes back to the caller
        out = {"ok": False, "error": error_of(e)}
    out["ms"] = (time.perf_counter() - t0) * 1000
    out["logs"] = "".join(local.logs)
    local.logs = None
    return out


def main():
    try:
        fn = load()
    except BaseException as e:
        print(json.dumps({"ok": False, "error": error_of(e)}), flush=True)
        sys.exit(1)
    if mode == "check":
        print(json.dumps({"ok": True}), flush=True)
        return
    sys.stdout = Capture(sys.stdout)
    sys.stderr = Capture(sys.stderr)

    class Handler(socketserver.StreamRequestHandler):
        """One connection: JSON lines, each answered with its `id`, a thread per request (the
        manager bounds them by the function's concurrency); the client's end of data ends it once
        every answer is out."""

        def handle(self):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            lock = threading.Lock()
            running = []

            def answer(req):
                out = {"ok": True} if req.get("op") == "ping" else invoke(fn, req)
                if "id" in req:
                    out["id"] = req["id"]
                data = (json.dumps(out) + "\n").encode()
                with lock:
                    try:
                        self.wfile.write(data)
                    except OSError:
                        pass  # the manager went away; nothing to answer to

            for line in self.rfile:
                if not line.strip():
                    continue
                t = threading.Thread(target=answer, args=(json.loads(line),), daemon=True)
                t.start()
                running.append(t)
                running = [x for x in running if x.is_alive()]
            for t in running:
                t.join()

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    Server(("127.0.0.1", int(port)), Handler).serve_forever()


main()
