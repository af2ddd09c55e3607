"""The measuring half of scripts/load-local.sh (standard library only).

    load-local.py prepare <bodies.tsv> <count> <app secret>
    load-local.py run <bodies.tsv> <host:port> <connections> <ack timeout s> <result.json> [rate]

`prepare` writes one signed WhatsApp notification per line: a complaint (Hindi text) from a
citizen of its own, n = 0 … count-1, with a fresh wamid. `run` POSTs them to /webhook over
`connections` keep-alive connections as fast as the answers come back (or, given a rate, the n-th
no sooner than n/rate seconds after the first), and meanwhile reads the
simulator's accepted sends (/sim/api/sent) to see when each citizen's acknowledgement arrived.
Everything is timed from outside the runner: a POST from just before its request is written, an
acknowledgement by the simulator's clock when it accepted the send (same machine, same clock).
"""

import asyncio
import hashlib
import hmac
import json
import sys
import time

PHONE_BASE = 917000000000  # + n: twelve digits, an Indian mobile number per citizen
TEXT = ("हमारे गाँव रामपुर (ब्लॉक जगदीशपुर) में 3 दिन से हैंडपंप खराब है। "
        "पानी की बहुत दिक्कत है/कृपया जल्दी ठीक करवाएँ। शिकायत क्रमांक {n}")


def phone(n):
    return str(PHONE_BASE + n)


def prepare(path, count, secret):
    secret = secret.encode()
    now = int(time.time())
    with open(path, "w") as out:
        for n in range(count):
            wa_id = phone(n)
            note = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
                "value": {"messaging_product": "whatsapp",
                          "metadata": {"display_phone_number": "916391363636",
                                       "phone_number_id": "100000000000001"},
                          "contacts": [{"profile": {"name": f"नागरिक {n}"}, "wa_id": wa_id}],
                          "messages": [{"from": wa_id, "id": f"wamid.HBgMOTE3MDAwMDAwMDAwFQIAEhgU{n:020X}AA==",
                                        "timestamp": str(now), "type": "text",
                                        "text": {"body": TEXT.format(n=n)}}]},
                "field": "messages"}]}]}
            # As Meta writes it: compact, non-ASCII as \uXXXX, and "/" as "\/".
            body = json.dumps(note, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()
            sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            out.write(f"{sig}\t{body.decode()}\n")


async def read_response(reader):
    """Status code and body of one HTTP/1.1 response (Content-Length or chunked)."""
    line = await reader.readline()
    if not line:
        raise ConnectionError("connection closed")
    status = int(line.split()[1])
    length, chunked = 0, False
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            if size == 0:
                await reader.readline()
                break
            body += await reader.readexactly(size)
            await reader.readline()
        return status, body
    return status, await reader.readexactly(length) if length else b""


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


async def run(bodies_path, addr, connections, ack_timeout, result_path, rate=None):
    host, port = addr.rsplit(":", 1)
    port = int(port)
    bodies = []
    with open(bodies_path) as f:
        for line in f:
            sig, body = line.rstrip("\n").split("\t", 1)
            bodies.append((sig, body.encode()))
    count = len(bodies)
    index_of = {phone(n): n for n in range(count)}
    posted_at = [None] * count       # wall clock, s
    webhook_ms = [None] * count
    statuses = {}
    acks = [[] for _ in range(count)]  # the simulator's accept times, s
    others = 0                         # sends to anyone else (nobody else should hear anything)
    cursor = iter(range(count))
    posting_done = asyncio.Event()

    async def poster():
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for n in cursor:
                if rate:
                    wait = start + n / rate - time.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                sig, body = bodies[n]
                head = (f"POST /webhook HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n"
                        f"X-Hub-Signature-256: {sig}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                posted_at[n] = time.time()
                t0 = time.perf_counter()
                writer.write(head + body)
                status, _ = await read_response(reader)
                webhook_ms[n] = (time.perf_counter() - t0) * 1000
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    async def watcher():
        nonlocal others
        reader, writer = await asyncio.open_connection(host, port)
        last, deadline, all_heard = 0, None, None
        try:
            while True:
                writer.write(f"GET /sim/api/sent?after={last} HTTP/1.1\r\nHost: {addr}\r\n\r\n".encode())
                status, body = await read_response(reader)
                if status != 200:
                    raise RuntimeError(f"/sim/api/sent answered {status}")
                page = json.loads(body)
                for m in page["messages"]:
                    n = index_of.get(m["to"])
                    if n is None:
                        others += 1
                    else:
                        acks[n].append(m["at_us"] / 1e6)
                last = page["last"]
                if posting_done.is_set():
                    now = time.monotonic()
                    deadline = deadline or now + ack_timeout
                    if all_heard is None and all(acks):
                        all_heard = now
                    # Everyone heard: two seconds more for any second acknowledgement.
                    if (all_heard is not None and now - all_heard >= 2) or now > deadline:
                        break
                if len(page["messages"]) < 5000:
                    await asyncio.sleep(0.02)
        finally:
            writer.close()

    watch = asyncio.create_task(watcher())
    start = time.time()
    await asyncio.gather(*(poster() for _ in range(connections)))
    posted = time.time()
    posting_done.set()
    await watch

    first_ack = [min(a) for a in acks if a]
    ack_ms = [(min(a) - posted_at[n]) * 1000 for n, a in enumerate(acks) if a]
    lost = sum(1 for a in acks if not a)
    doubled = sum(1 for a in acks if len(a) > 1)
    ok = sum(v for k, v in statuses.items() if 200 <= k < 300)
    end = max(first_ack) if first_ack else posted
    result = {
        "complaints": count,
        "connections": connections,
        "offered_per_s": rate,
        "post_seconds": round(posted - start, 3),
        "posts_per_s": round(count / (posted - start), 1),
        "webhook_2xx": ok,
        "webhook_other": count - ok,
        "webhook_ms": {p: round(pct([w for w in webhook_ms if w is not None], p), 2) for p in (50, 90, 99)},
        "acked": len(first_ack),
        "ack_seconds": round(end - start, 3),
        "acks_per_s": round(len(first_ack) / (end - start), 1) if first_ack else 0,
        "ack_ms": {p: round(pct(ack_ms, p), 1) for p in (50, 90, 99)},
        "ack_ms_max": round(max(ack_ms), 1) if ack_ms else None,
        "lost": lost,
        "doubled": doubled,
        "sends_to_others": others,
    }
    with open(result_path, "w") as f:
        json.dump(result, f)
    w, a = result["webhook_ms"], result["ack_ms"]
    pace = f" at {rate:g}/s offered" if rate else " as fast as answered"
    print(f"posted {count} complaints from {count} citizens over {connections} connections{pace} "
          f"in {result['post_seconds']} s ({result['posts_per_s']}/s); webhook answers: {ok} 2xx, "
          f"{count - ok} other")
    print(f"acknowledged {len(first_ack)} in {result['ack_seconds']} s from the first POST")
    print()
    print("| complaints | acknowledged/s | webhook p50 ms | p90 | p99 | ack p50 ms | p90 | p99 | max | lost | doubled |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {count} | {result['acks_per_s']} | {w[50]} | {w[90]} | {w[99]} | {a[50]} | {a[90]} | {a[99]} "
          f"| {result['ack_ms_max']} | {lost} | {doubled} |")
    return 0 if lost == 0 and doubled == 0 and ok == count else 1


def main():
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return 0
    if sys.argv[1] == "run":
        rate = float(sys.argv[7]) if len(sys.argv) > 7 and float(sys.argv[7]) > 0 else None
        return asyncio.run(run(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6], rate))
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
