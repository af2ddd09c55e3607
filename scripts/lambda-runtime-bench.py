#!/usr/bin/env python3
"""A local Lambda Runtime API that feeds one function the same Function URL (payload 2.0) events
over and over, and measures it: process start → ready (its first poll of /invocation/next), and
the process's CPU time per invocation, the handler, its SQS call and the runtime loop (post the
response, poll for the next event) together.

    lambda-runtime-bench.py NAME -- COMMAND...    prints one JSON line of results

The sibling of lambda-runtime-stub.py (cold start only). Environment:
  RUNS        cold starts to time (median reported; the CPU figures come from the first) [5]
  N           invocations per scenario measured [500]
  WARMUP      invocations of each scenario before measuring [50]
  SCENARIOS   which of get,post1,post2 to run [all]
  APP_SECRET, VERIFY_TOKEN, PHONE_NUMBER_ID   what the events are signed with and addressed to

CPU time is read from /proc: the sum over the process's threads of /proc/PID/task/*/schedstat
(nanoseconds on CPU), and utime+stime of /proc/PID/stat (clock ticks, whole process, dead threads
included) as a cross-check. Each measured interval starts and ends with the function blocked in
its poll for the next event, so it holds N whole invocation cycles. Loopback only, bounded: every
wait has a timeout, and the function is killed at the end."""
import base64, hashlib, hmac, http.server, json, os, queue, statistics, subprocess, sys, threading, time

APP_SECRET = os.environ.get("APP_SECRET", "measure-app-secret-0123456789abcdef").encode()
VERIFY_TOKEN = os.environ.get("VERIFY_TOKEN", "measure-verify-0123456789")
PHONE_NUMBER_ID = os.environ.get("PHONE_NUMBER_ID", "100000000000001")
WAIT = 30  # seconds: longest wait for any one step
TICK = os.sysconf("SC_CLK_TCK")

# What a Function URL sends for Meta's POST (headers as Lambda gives them: lower-case).
HEADERS = {
    "accept": "*/*", "accept-encoding": "deflate, gzip", "content-type": "application/json",
    "host": "abcdefghij.lambda-url.ap-south-1.on.aws", "user-agent": "facebookexternalua",
    "x-amzn-tls-cipher-suite": "TLS_AES_128_GCM_SHA256", "x-amzn-tls-version": "TLSv1.3",
    "x-amzn-trace-id": "Root=1-67891234-abcdef0123456789abcdef01", "x-forwarded-for": "173.252.95.1",
    "x-forwarded-port": "443", "x-forwarded-proto": "https",
}


def http_event(method, query=None, body=None, headers=None):
    e = {
        "version": "2.0", "routeKey": "$default", "rawPath": "/webhook",
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": dict(HEADERS, **(headers or {})),
        "requestContext": {
            "accountId": "anonymous", "apiId": "abcdefghij", "domainName": "abcdefghij.lambda-url.ap-south-1.on.aws",
            "domainPrefix": "abcdefghij",
            "http": {"method": method, "path": "/webhook", "protocol": "HTTP/1.1", "sourceIp": "173.252.95.1",
                     "userAgent": "facebookexternalua"},
            "requestId": "6f1c2a3b-0000-4000-8000-000000000000", "routeKey": "$default", "stage": "$default",
            "time": "02/Dec/2026:10:00:00 +0000", "timeEpoch": 1795000000000,
        },
        "isBase64Encoded": False,
    }
    if query:
        e["queryStringParameters"] = query
    if body is not None:
        e["body"] = body
    return e


def handshake():
    return http_event("GET", {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})


class Notifications:
    """Signed notifications of `k` text messages from one citizen, each with fresh wamids (so the
    FIFO queue keeps them all), as Meta sends them."""
    def __init__(self):
        self.seq = 0

    def post(self, k):
        msgs = []
        for _ in range(k):
            self.seq += 1
            msgs.append({"from": "919812345678", "id": f"wamid.HBgMOTE5ODEyMzQ1Njc4FQIAEhggBENCH{self.seq:010d}",
                         "timestamp": "1795000000", "type": "text",
                         "text": {"body": f"Paani nahi aa raha hai, ward 12 ({self.seq})"}})
        note = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
            "field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
                "contacts": [{"profile": {"name": "Ramesh"}, "wa_id": "919812345678"}],
                "messages": msgs}}]}]}
        raw = json.dumps(note, separators=(",", ":")).encode()
        sig = "sha256=" + hmac.new(APP_SECRET, raw, hashlib.sha256).hexdigest()
        return http_event("POST", body=raw.decode(), headers={"x-hub-signature-256": sig,
                                                              "content-length": str(len(raw))})


class Api:
    """The Runtime API: /next hands out what `invoke` queued; /response and /error hand back."""
    def __init__(self):
        self.events = queue.Queue()
        self.answers = queue.Queue()
        self.cond = threading.Condition()
        self.polls = 0    # polls of /next so far
        self.served = 0   # events handed out so far
        self.first_poll = None

    def wait_blocked(self):
        """Until the function waits in its poll with nothing to hand it (call with no event queued)."""
        with self.cond:
            if not self.cond.wait_for(lambda: self.polls > self.served, timeout=WAIT):
                sys.exit("the function did not poll for its next event")

    def handler(self):
        api = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if not self.path.endswith("/invocation/next"):
                    return self.reply(404)
                with api.cond:
                    if api.first_poll is None:
                        api.first_poll = time.monotonic()
                    api.polls += 1
                    api.cond.notify_all()
                try:
                    body = api.events.get(timeout=WAIT * 4)
                except queue.Empty:
                    return self.reply(500)
                with api.cond:
                    api.served += 1
                    seq = api.served
                self.reply(200, body, [
                    ("Lambda-Runtime-Aws-Request-Id", f"req-{seq}"),
                    ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000)),
                    ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:ap-south-1:000000000000:function:webhook"),
                    ("Lambda-Runtime-Trace-Id", "Root=1-67891234-abcdef0123456789abcdef01;Sampled=0"),
                    ("Content-Type", "application/json"),
                ])

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                if "/invocation/" in self.path:
                    api.answers.put((self.path.rsplit("/", 1)[-1], body))
                self.reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])

        return H


def cpu(pid):
    """(ns on CPU summed over live threads, clock ticks of utime and of stime for the whole process)."""
    ns = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                ns += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return ns, int(fields[11]), int(fields[12])


def invoke(api, event, expect_status, expect_body=None):
    api.events.put(json.dumps(event, separators=(",", ":")).encode())
    kind, body = api.answers.get(timeout=WAIT)
    if kind != "response":
        sys.exit(f"invocation failed: {body[:500]!r}")
    r = json.loads(body)
    if r.get("statusCode") != expect_status or (expect_body is not None and r.get("body") != expect_body):
        sys.exit(f"unexpected reply: {r}")


def run(cmd, measure):
    api = Api()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), api.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}")
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    out = {}
    try:
        with api.cond:
            polled = api.cond.wait_for(lambda: api.polls > 0, timeout=WAIT)
        if not polled:
            proc.kill()
            sys.exit(f"{cmd[0]}: no poll within {WAIT}s: {proc.communicate(timeout=10)[1].decode(errors='replace')[-2000:]}")
        out["ready_ms"] = (api.first_poll - start) * 1000
        if measure:
            notes = Notifications()
            n, warmup = int(os.environ.get("N", "500")), int(os.environ.get("WARMUP", "50"))
            scenarios = [
                ("get", lambda: handshake(), 200, "1158201444", 0),
                ("post1", lambda: notes.post(1), 200, "ok", 1),
                ("post2", lambda: notes.post(2), 200, "ok", 2),
            ]
            only = os.environ.get("SCENARIOS")
            if only:
                scenarios = [sc for sc in scenarios if sc[0] in only.split(",")]
            out["enqueued"] = 0
            for name, make, status, body, msgs in scenarios:
                events = [make() for _ in range(warmup + n)]
                for e in events[:warmup]:
                    invoke(api, e, status, body)
                api.wait_blocked()  # waiting in its poll: the interval starts here
                ns0, u0, s0 = cpu(proc.pid)
                for e in events[warmup:]:
                    invoke(api, e, status, body)
                api.wait_blocked()  # … and ends in the next one
                ns1, u1, s1 = cpu(proc.pid)
                out[name] = {"n": n, "cpu_us": (ns1 - ns0) / n / 1000,
                             "cpu_us_ticks": (u1 - u0 + s1 - s0) * 1e6 / TICK / n,
                             "user_us_ticks": (u1 - u0) * 1e6 / TICK / n,
                             "sys_us_ticks": (s1 - s0) * 1e6 / TICK / n}
                out["enqueued"] += msgs * (warmup + n)
    finally:
        # SIGTERM first, so a wrapper (valgrind, for a profile) can write its output.
        proc.terminate()
        try:
            proc.communicate(timeout=float(os.environ.get("STOP_GRACE", "2")))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=10)
        server.shutdown()
    return out


def main():
    args = sys.argv[1:]
    if len(args) < 3 or args[1] != "--":
        sys.exit(__doc__)
    name, cmd = args[0], args[2:]
    runs = int(os.environ.get("RUNS", "5"))
    first = run(cmd, measure=True)
    readies = [first["ready_ms"]] + [run(cmd, measure=False)["ready_ms"] for _ in range(runs - 1)]
    first.update(name=name, ready_ms=statistics.median(readies), ready_runs=len(readies),
                 ready_max_ms=max(readies))
    print(json.dumps(first))


if __name__ == "__main__":
    main()
