"""A stand-in for a remote model API: an OpenAI-compatible HTTP server that waits `latency`
seconds per request and answers deterministically (a word picked by the prompt's hash), and
can inject faults.

    python -m benchmarks.fake_api [--latency 0.2] [--port 0]
                                  [--faults rate_limit=0.1,server_error=0.1,...]
                                  [--fail-attempts 1] [--log attempts.jsonl]
                                  [--down-after N --down-for S]

Faults: a prompt whose hash falls in a kind's share fails its first `--fail-attempts` requests
with that kind, then is answered. Kinds: rate_limit (429 with Retry-After), server_error (503),
timeout (answers after 3 s: past a short client timeout), drop (closes the connection without a
reply), garbage (200 with a body that is not JSON), empty (200 with an empty completion),
unauthorized (401: a bad API key) and not_found (404: an unknown model); `unauthorized=1` makes
every request fail so. `--log` appends one JSON line per request: prompt hash, attempt number
and what was sent back.

An outage: with `--down-after N`, the N-th request closes the server (nothing listens at the
port: connections are refused) for `--down-for` seconds, then it listens again on that port.

Prints the port it listens on as its first line. Benchmarks start it as a separate process, so
its waiting and JSON work never share the interpreter lock with the client being measured; it
is reached through litellm exactly like a hosted provider (`text-completion-openai/<name>` with
`api_base=http://127.0.0.1:PORT/v1`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ("positive", "negative")
FAULTS = ("rate_limit", "server_error", "timeout", "drop", "garbage", "empty", "unauthorized",
          "not_found")
STATUS = {"rate_limit": 429, "server_error": 503, "unauthorized": 401, "not_found": 404}
TIMEOUT_SLEEP = 3.0


def answer_for(prompt: str) -> str:
    return WORDS[hashlib.sha256(prompt.encode()).digest()[0] % len(WORDS)]


def prompt_of(path: str, request: dict) -> str:
    if path.endswith("/chat/completions"):
        return json.dumps(request.get("messages", []))
    prompt = request.get("prompt", "")
    return prompt if isinstance(prompt, str) else json.dumps(prompt)


def parse_faults(spec: str) -> list[tuple[str, float]]:
    """"rate_limit=0.1,empty=0.05" -> [(kind, share)], shares laid end to end on [0, 1)."""
    faults = []
    for part in filter(None, spec.split(",")):
        kind, _, share = part.partition("=")
        if kind not in FAULTS:
            raise SystemExit(f"--faults: unknown kind {kind!r} (fix: use {', '.join(FAULTS)})")
        faults.append((kind, float(share)))
    return faults


def fault_for(prompt: str, faults: list[tuple[str, float]]) -> str | None:
    digest = hashlib.sha256(b"fault:" + prompt.encode()).digest()
    position, start = int.from_bytes(digest[:4], "big") / 2 ** 32, 0.0
    for kind, share in faults:
        if start <= position < start + share:
            return kind
        start += share
    return None


def _body(path: str, request: dict, text: str) -> dict:
    usage = {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}
    common = {"id": "fake", "created": int(time.time()), "model": request.get("model", "fake"),
              "usage": usage}
    if path.endswith("/chat/completions"):
        message = {"role": "assistant", "content": text}
        return {**common, "object": "chat.completion",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
    return {**common, "object": "text_completion",
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}]}


class Ledger:
    """Requests seen per prompt (thread-safe), optionally logged as JSON lines."""

    def __init__(self, log_path: str | None):
        self.attempts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.log_path = log_path
        self.requests = 0

    def count(self) -> int:
        """Requests received so far, this one included."""
        with self.lock:
            self.requests += 1
            return self.requests

    def next_attempt(self, prompt: str) -> int:
        digest = hashlib.sha256(prompt.encode()).hexdigest()[:16]
        with self.lock:
            self.attempts[digest] = self.attempts.get(digest, 0) + 1
            return self.attempts[digest]

    def log(self, prompt: str, attempt: int, outcome: str) -> None:
        if self.log_path:
            line = json.dumps({"prompt": hashlib.sha256(prompt.encode()).hexdigest()[:16],
                               "attempt": attempt, "outcome": outcome})
            with self.lock, open(self.log_path, "a") as handle:
                handle.write(line + "\n")


def make_handler(latency: float, faults=(), fail_attempts: int = 1, ledger=None,
                 outage=None):
    ledger = ledger or Ledger(None)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as hosted APIs do
        disable_nagle_algorithm = True  # headers and body go out without a delayed-ACK stall

        def setup(self) -> None:
            super().setup()
            if outage is not None:
                outage.opened(self.connection)

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            prompt = prompt_of(self.path, request)
            if outage is not None and outage.begins_at(ledger.count()):
                self.close_connection = True  # this request dies with the server
                return
            attempt = ledger.next_attempt(prompt)
            fault = fault_for(prompt, faults) if attempt <= fail_attempts else None
            if fault:
                ledger.log(prompt, attempt, fault)
            time.sleep(TIMEOUT_SLEEP if fault == "timeout" else latency)
            if fault == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault in STATUS:
                self._send(STATUS[fault], b'{"error": {"message": "%s"}}' % fault.encode(),
                           {"Retry-After": "0"})
                return
            if fault == "garbage":
                self._send(200, b"<html>bad gateway</html>{")
                return
            text = "" if fault == "empty" else " " + answer_for(prompt)
            sent = self._send(200, json.dumps(_body(self.path, request, text)).encode())
            if not fault:  # "ok" only once the answer went out (an outage may cut it)
                ledger.log(prompt, attempt, "ok" if sent else "unsent")

        def _send(self, status: int, payload: bytes, headers: dict | None = None) -> bool:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
                return True
            except OSError:  # the client gave up first (a timeout fault), or an outage cut it
                return False

        def log_message(self, *args) -> None:
            """Quiet: one line per request would drown the benchmark's output."""

    return Handler


class Outage:
    """The server goes away at its `after`-th request for `down_for` seconds, then comes back on
    the same port: `serve()` runs the server (or its successor) until the process ends."""

    def __init__(self, after: int, down_for: float, start_server):
        self.after, self.down_for, self.start_server = after, down_for, start_server
        self.server = None
        self.open_connections: set = set()  # kept-alive sockets: a dead server drops them too
        self.lock = threading.Lock()

    def opened(self, connection) -> None:
        with self.lock:
            self.open_connections.add(connection)

    def begins_at(self, request_number: int) -> bool:
        if request_number != self.after:
            return False
        threading.Thread(target=self._down_then_up, daemon=True).start()
        return True

    def _down_then_up(self) -> None:
        port = self.server.server_address[1]
        self.server.shutdown()
        self.server.server_close()  # new connections are refused from here on
        with self.lock:
            for connection in self.open_connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # closed already
            self.open_connections.clear()
        time.sleep(self.down_for)
        self.server = self.start_server(port)
        self.server.serve_forever()


class FakeAPI:
    """The server as a child process; `with FakeAPI(0.2) as api: api.base_url`."""

    def __init__(self, latency: float, faults: str = "", fail_attempts: int = 1,
                 log: str | None = None, port: int = 0, down_after: int | None = None,
                 down_for: float = 0.0):
        self.args = ["--latency", str(latency), "--faults", faults, "--port", str(port),
                     "--fail-attempts", str(fail_attempts)] + (["--log", log] if log else [])
        if down_after is not None:
            self.args += ["--down-after", str(down_after), "--down-for", str(down_for)]
        self.process: subprocess.Popen | None = None
        self.base_url = ""

    def __enter__(self) -> "FakeAPI":
        root = Path(__file__).resolve().parents[1]
        self.process = subprocess.Popen([sys.executable, "-m", "benchmarks.fake_api", *self.args],
                                        stdout=subprocess.PIPE, text=True, cwd=root)
        port = int(self.process.stdout.readline())
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--faults", default="", help="kind=share,... (see above)")
    parser.add_argument("--fail-attempts", type=int, default=1,
                        help="requests of a faulty prompt that fail before it is answered")
    parser.add_argument("--log", help="append one JSON line per request to this file")
    parser.add_argument("--down-after", type=int, metavar="N",
                        help="the N-th request takes the server down (connections refused)")
    parser.add_argument("--down-for", type=float, default=5.0, metavar="S",
                        help="seconds the server stays down (default: 5)")
    args = parser.parse_args()
    outage = None
    handler_args = (args.latency, parse_faults(args.faults), args.fail_attempts, Ledger(args.log))

    def start_server(port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(*handler_args, outage))
        server.daemon_threads = True
        if outage is not None:
            outage.server = server
        return server

    if args.down_after is not None:
        outage = Outage(args.down_after, args.down_for, start_server)
    server = start_server(args.port)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    threading.Event().wait()  # an outage closed it: its successor serves from another thread


if __name__ == "__main__":
    main()
