#!/usr/bin/env python3
"""A local stand-in for the Lambda Runtime API, to time a function's cold start.

Starts the given binary with AWS_LAMBDA_RUNTIME_API pointing here and measures, over several
runs: process start → its first poll for an invocation (init), and the first invocation's
round trip (a webhook GET handshake). Prints a markdown table. Loopback only, bounded."""
import http.server, json, os, socket, statistics, subprocess, sys, threading, time

EVENT = {
    "version": "2.0", "routeKey": "$default", "rawPath": "/webhook",
    "rawQueryString": "hub.mode=subscribe&hub.verify_token=measure-verify&hub.challenge=42",
    "headers": {"host": "example.lambda-url.ap-south-1.on.aws"},
    "queryStringParameters": {"hub.mode": "subscribe", "hub.verify_token": "measure-verify", "hub.challenge": "42"},
    "requestContext": {"accountId": "anonymous", "apiId": "x", "domainName": "example", "domainPrefix": "example",
                       "http": {"method": "GET", "path": "/webhook", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                                "userAgent": "facebookexternalua"},
                       "requestId": "r", "routeKey": "$default", "stage": "$default", "time": "28/Nov/2026:10:00:00 +0000",
                       "timeEpoch": 1795000000000},
    "isBase64Encoded": False,
}


class State:
    def __init__(self):
        self.first_poll = None
        self.served = None
        self.answered = None
        self.answer = None
        self.done = threading.Event()


def handler_for(state):
    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            if self.path.endswith("/invocation/next"):
                now = time.monotonic()
                if state.first_poll is None:
                    state.first_poll = now
                    body = json.dumps(EVENT).encode()
                    self.send_response(200)
                    self.send_header("Lambda-Runtime-Aws-Request-Id", "req-1")
                    self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                    self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:ap-south-1:000000000000:function:webhook")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    state.served = time.monotonic()
                else:
                    # Second poll: the measurement is over; hold until the process is stopped.
                    state.done.wait(10)
            else:
                self.send_response(404)
                self.end_headers()

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            state.answer = self.rfile.read(length)
            state.answered = time.monotonic()
            self.send_response(202)
            self.end_headers()
            state.done.set()

    return H


def run_once(binary, env):
    state = State()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}")
    start = time.monotonic()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state.done.wait(20)
    proc.kill()
    _, err = proc.communicate(timeout=10)
    server.shutdown()
    if state.first_poll is None or state.answered is None:
        sys.exit(f"no poll/answer from {binary}: {err.decode(errors='replace')[-2000:]}")
    reply = json.loads(state.answer or b"{}")
    if reply.get("statusCode") != 200 or reply.get("body") != "42":
        sys.exit(f"unexpected handshake reply: {reply}")
    return (state.first_poll - start) * 1000, (state.answered - state.served) * 1000


def main():
    binary, runs = sys.argv[1], int(os.environ.get("RUNS", "20"))
    env = dict(os.environ)
    inits, invokes = [], []
    for _ in range(runs):
        i, v = run_once(binary, env)
        inits.append(i)
        invokes.append(v)
    def row(name, xs):
        xs = sorted(xs)
        return f"| {name} | {len(xs)} | {statistics.median(xs):.1f} | {xs[int(0.9 * (len(xs) - 1))]:.1f} | {xs[-1]:.1f} |"
    print("| measure | runs | p50 ms | p90 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    print(row("init: process start → first poll", inits))
    print(row("first invocation (GET handshake) round trip", invokes))


if __name__ == "__main__":
    main()
