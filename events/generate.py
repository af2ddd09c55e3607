#!/usr/bin/env python3
"""Writes the Lambda sample events in events/webhook, events/sqs and events/schedule.

Run it after changing a command's shape or the signing secret; the output is committed (nothing
downloads fixtures at test time). Deterministic: same input, same files.

    python3 events/generate.py
"""
import base64
import hashlib
import hmac
import json
import os
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
# Long enough for the rule every secret must pass (functions/core/src/secret.rs).
APP_SECRET = b"events-app-secret-0123456789abcdef"
VERIFY_TOKEN = "events-verify-token"
# The key of the keyed hash (functions/core/src/pseudonym.rs) the samples' ids are made with.
ID_KEY = b"events-id-key-0123456789abcdef0123456789"
PHONE_NUMBER_ID = "100000000000001"
OTHER_PHONE_NUMBER_ID = "100000000000999"
REGION = "ap-south-1"
ACCOUNT = "123456789012"
EPOCH_MS = 1795000000000  # 2026-11-18T08:26:40Z, the time of events/whatsapp
CITIZEN = "919812345678"
WATER_OFFICER = "919000000105"
COMPLAINT = "AMT-2026-000001"


def write(rel, obj):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def pseudonym(domain, value):
    """KeyedHash: HMAC-SHA256 over the domain letter, a zero byte and the value, 12 bytes in hex."""
    mac = hmac.new(ID_KEY, domain.encode() + b"\0" + value.encode(), hashlib.sha256).digest()
    return domain + mac[:12].hex()


def pid(phone):
    return pseudonym("p", phone)


def wid(wamid):
    return pseudonym("w", wamid)


def uid(name):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "shikayat-events:" + name))


# --- Function URL (HTTP API payload format 2.0) -------------------------------------------------

def http_event(name, method, path, query=None, headers=None, body=None, b64=False):
    query = query or {}
    raw_query = "&".join(f"{k}={v}" for k, v in query.items())
    h = {
        "host": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-south-1.on.aws",
        "user-agent": "facebookexternalua",
        "x-amzn-trace-id": "Root=1-" + uid(name)[:8] + "-" + uid(name).replace("-", "")[:24],
        "x-forwarded-for": "173.252.95.1",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        "accept": "*/*",
    }
    h.update(headers or {})
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": h,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghijklmnopqrstuvwxyz012345",
            "domainName": h["host"],
            "domainPrefix": "abcdefghijklmnopqrstuvwxyz012345",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "173.252.95.1",
                "userAgent": "facebookexternalua",
            },
            "requestId": uid(name),
            "routeKey": "$default",
            "stage": "$default",
            "time": "18/Nov/2026:08:26:41 +0000",
            "timeEpoch": EPOCH_MS + 1000,
        },
        "isBase64Encoded": b64,
    }
    if query:
        event["queryStringParameters"] = query
    if body is not None:
        event["body"] = body
    return event


def sign(body: bytes, secret=APP_SECRET):
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def webhook_events():
    write("webhook/get-verify.json", http_event(
        "get-verify", "GET", "/webhook",
        query={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    ))
    with open(os.path.join(HERE, "whatsapp/text-hindi.json"), "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")
    json_headers = {"content-type": "application/json", "x-hub-signature-256": sign(raw)}
    write("webhook/post-signed.json", http_event(
        "post-signed", "POST", "/webhook", headers=json_headers, body=text))
    write("webhook/post-base64.json", http_event(
        "post-base64", "POST", "/webhook", headers=json_headers,
        body=base64.b64encode(raw).decode("ascii"), b64=True))
    bad = dict(json_headers, **{"x-hub-signature-256": sign(raw, b"not-the-app-secret")})
    write("webhook/post-bad-signature.json", http_event(
        "post-bad-signature", "POST", "/webhook", headers=bad, body=text))
    # The same message for another business number on the same Meta app: 200, nothing enqueued.
    ours = ('"phone_number_id":"%s"' % PHONE_NUMBER_ID).encode()
    assert raw.count(ours) == 1
    other = raw.replace(ours, ('"phone_number_id":"%s"' % OTHER_PHONE_NUMBER_ID).encode())
    write("webhook/post-other-number.json", http_event(
        "post-other-number", "POST", "/webhook",
        headers={"content-type": "application/json", "x-hub-signature-256": sign(other)},
        body=other.decode("utf-8")))
    write("webhook/post-bad-base64.json", http_event(
        "post-bad-base64", "POST", "/webhook", headers=json_headers,
        body="eyJvYmplY3QiOi*not base64*", b64=True))


# --- SQS -----------------------------------------------------------------------------------------

def record(queue, name, body, seq=None, group=None, dedupe=None):
    attributes = {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": str(EPOCH_MS),
        "SenderId": "AROAEXAMPLEEXAMPLE:shikayat-webhook",
        "ApproximateFirstReceiveTimestamp": str(EPOCH_MS + 20),
    }
    if group is not None:
        attributes["SequenceNumber"] = str(18880000000000000000 + seq)
        attributes["MessageGroupId"] = group
        attributes["MessageDeduplicationId"] = dedupe
    return {
        "messageId": uid(queue + ":" + name),
        "receiptHandle": "AQEB" + base64.b64encode(uid("rh:" + queue + name).encode()).decode(),
        "body": body,
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode("utf-8")).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:shikayat-{queue}",
        "awsRegion": REGION,
    }


def envelope(key, kind, **fields):
    return json.dumps(dict({"v": 1, "key": key, "kind": kind}, **fields), ensure_ascii=False,
                      separators=(",", ":"))


def inbound_text(wamid, text, ts):
    event = {
        "event": "message",
        "wamid": wamid,
        "sender": {"wa_id": CITIZEN, "user_id": None, "name": "सुनीता देवी"},
        "timestamp": ts,
        "context_id": None,
        "forwarded": False,
        "body": {"type": "text", "text": text},
    }
    return envelope(wid(wamid), "inbound", event=event)


def inbound_status(wamid, status, ts):
    event = {"event": "status", "wamid": wamid, "status": status, "recipient": CITIZEN,
             "timestamp": ts, "error_code": None, "error_detail": None}
    return envelope(f"{wid(wamid)}#{status}", "inbound", event=event)


def sqs_events():
    ts = EPOCH_MS // 1000
    batch = [
        (wid("wamid.EVT1"), inbound_text("wamid.EVT1", "गाँव का हैंडपंप खराब है, पीने का पानी नहीं मिल रहा", ts)),
        (wid("wamid.EVT2"), inbound_text("wamid.EVT2", "दो हफ़्ते से यही हाल है", ts + 5)),
        (wid("wamid.OUT1") + "#delivered", inbound_status("wamid.OUT1", "delivered", ts + 6)),
    ]
    # Group and deduplication ids are keyed-hash ids, as the webhook makes them: never a number.
    write("sqs/inbound-batch.json", {"Records": [
        record("inbound.fifo", "batch:" + d, body, seq=i, group=pid(CITIZEN), dedupe=d)
        for i, (d, body) in enumerate(batch)
    ]})
    poisoned = [
        (wid("wamid.PSN1"), inbound_text("wamid.PSN1", "बिजली नहीं आ रही है", ts)),
        (wid("wamid.PSN2"), '{"v":1,"key":"%s","kind":"inbound","event":{"event":"mess' % wid("wamid.PSN2")),
        (wid("wamid.PSN3"), inbound_text("wamid.PSN3", "तीन दिन से", ts + 5)),
    ]
    write("sqs/inbound-poisoned.json", {"Records": [
        record("inbound.fifo", "poisoned:" + d, body, seq=i, group=pid(CITIZEN), dedupe=d)
        for i, (d, body) in enumerate(poisoned)
    ]})

    relay = {
        "settle_complaint": envelope(f"settle:{COMPLAINT}:wamid.EVT2", "settle_complaint", id=COMPLAINT),
        "forward_complaint": envelope(f"forward:{COMPLAINT}", "forward_complaint", id=COMPLAINT),
        "send_details": envelope(f"details:{COMPLAINT}", "send_details", id=COMPLAINT),
        "settle_report": envelope(f"settle-report:{COMPLAINT}:wamid.RPT1", "settle_report", id=COMPLAINT),
        "tell": envelope(f"tell:{wid('wamid.RPT1')}:{pid(WATER_OFFICER)}:report_received", "tell", to=WATER_OFFICER,
                         complaint=COMPLAINT, notice={"notice": "report_received", "id": COMPLAINT}),
    }
    for kind, body in relay.items():
        write(f"sqs/relay-{kind}.json", {"Records": [record("relay", kind, body)]})
    notify = {
        "deliver_report": envelope(f"deliver:{COMPLAINT}:1", "deliver_report", id=COMPLAINT),
        "tell": envelope(f"tell:{wid('wamid.EVT1')}:{pid(CITIZEN)}:registered", "tell", to=CITIZEN,
                         complaint=COMPLAINT, notice={"notice": "registered", "id": COMPLAINT}),
    }
    for kind, body in notify.items():
        write(f"sqs/notify-{kind}.json", {"Records": [record("notify", kind, body)]})


# --- EventBridge ---------------------------------------------------------------------------------

def schedule_events():
    write("schedule/escalator.json", {
        "version": "0",
        "id": uid("schedule"),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": "2026-11-18T08:30:00Z",
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/shikayat-escalator"],
        "detail": {},
    })


if __name__ == "__main__":
    webhook_events()
    sqs_events()
    schedule_events()
