#!/usr/bin/env python3
"""Checks the expanded template (infra/template.yaml through aws-sam-translator) against the
code: what cfn-lint cannot know.

- every SQS event source mapping reports batch item failures (without it, returned failures
  count as success and the messages are deleted — and a typo there passes cfn-lint);
- every environment variable the Rust code reads is set on every function, except an explicit
  allow-list (local mode only, tests only, or held in the secret), and no secret is set in plain;
- every table, key, attribute type, index and the messages TTL are what
  functions/adapters/src/aws/provision.rs creates; queue and bucket names are names.rs's;
- queue settings: redrive after 5 receives to the right DLQ, SQS-managed SSE, visibility
  timeout at least 6 x the consumer's timeout, FIFO where names.rs says .fifo;
- each function's role touches only what it needs; the webhook's cannot read DynamoDB.

Run: python3 scripts/infra/test_template.py (with aws-sam-translator importable).
"""
import glob
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expand  # noqa: E402

ROOT = expand.ROOT
ADAPTERS = os.path.join(ROOT, "functions", "adapters", "src", "aws")


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


# ------------------------------------------------------------------ what the code says

# Variables the code reads that the template deliberately does not set, and why.
NOT_SET = {
    "SHIKAYAT_LOG": "local runner only (Lambda filters by its LoggingConfig)",
    "RUST_LOG": "a debugging override; the template sets LoggingConfig, which Lambda passes as AWS_LAMBDA_LOG_LEVEL",
    "AWS_LAMBDA_LOG_LEVEL": "set by Lambda from each function's LoggingConfig",

    "SHIKAYAT_LOG_FORMAT": "local runner only (Lambda always logs JSON)",
    "SHIKAYAT_LISTEN": "local runner only",
    "SHIKAYAT_DATA_DIR": "local runner only (embedded backend)",
    "SHIKAYAT_BACKEND": "local runner only",
    "SHIKAYAT_ESCALATOR_INTERVAL_SECONDS": "local runner only (Lambda runs the escalator on a schedule)",
    "SHIKAYAT_TEST_AWS_ENDPOINT": "tests only",
    "CARGO_MANIFEST_DIR": "tests only",
    "UPDATE_README": "tests only (rewrites the README's template list)",
    "SHIKAYAT_SIM_ENFORCE_WINDOW": "local runner only (its built-in simulator; load runs)",
    "SHIKAYAT_TEMPLATES_DIR": "local runner only (the built-in simulator's templates; on AWS Meta holds them)",
    "AWS_ENDPOINT_URL_S3": "an endpoint override for tests (moto); real S3 needs none",
    "SHIKAYAT_DISTRICT_CONFIG": "the district config is loaded into the settings table (shikayat-admin); the file is the local runner's",
}
# Read from the environment by the code, but in AWS they come from the secret and must never
# be set in plain text.
# SHIKAYAT_ID_KEY: on AWS the id key is the secret's id_key field; the variable is for a
# deployment that keeps it elsewhere (and the local runner).
IN_SECRET = {"WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN", "SHIKAYAT_ID_KEY"}

VAR_CALL = re.compile(r'\b(?:var|var_os|number|secret|try_from_env)(?:::<[^>]+>)?\(\s*"([A-Z][A-Z0-9_]+)"')
QUEUE_FORMAT = re.compile(r'format!\("(SHIKAYAT_\{upper\}_[A-Z_]+)"')


def queue_names():
    """QueueName::as_str values: inbound, relay, notify."""
    src = read("functions", "core", "src", "command.rs")
    body = src[src.index("pub fn as_str(self)"):]
    body = body[: body.index("}\n    }")]
    return re.findall(r'=> "([a-z_]+)"', body)


def env_vars_read():
    """Every variable name the functions' Rust sources read, with the files reading it."""
    found = {}
    for path in glob.glob(os.path.join(ROOT, "functions", "*", "src", "**", "*.rs"), recursive=True):
        with open(path, encoding="utf-8") as f:
            src = f.read()
        rel = os.path.relpath(path, ROOT)
        for name in VAR_CALL.findall(src):
            found.setdefault(name, set()).add(rel)
        for pattern in QUEUE_FORMAT.findall(src):
            for q in queue_names():
                found.setdefault(pattern.replace("{upper}", q.upper()), set()).add(rel)
        if "EnvFilter::try_from_default_env" in src:
            found.setdefault("RUST_LOG", set()).add(rel)
    return found


def rust_consts():
    """`pub const NAME: &str = "value";` in the dynamo module (index names)."""
    src = read("functions", "adapters", "src", "aws", "dynamo", "mod.rs")
    return dict(re.findall(r'pub const ([A-Z_]+): &str = "([^"]+)";', src))


def name_fns():
    """names.rs: method -> name with `{prefix}` where the prefix goes."""
    src = read("functions", "adapters", "src", "aws", "names.rs")
    out = {}
    for fn, fmt in re.findall(r'pub fn ([a-z_]+)\(&self\) -> String \{\s*format!\("\{\}([^"]+)", self\.prefix\)', src):
        out[fn] = "{prefix}" + fmt
    return out


def queue_name_arms(fn):
    """names.rs `queue` / `dead_letter_queue`: QueueName variant -> name."""
    src = read("functions", "adapters", "src", "aws", "names.rs")
    body = src[src.index(f"pub fn {fn}(&self, q: QueueName)"):]
    body = body[: body.index("\n    }\n")]
    return {v.lower(): "{prefix}" + n for v, n in re.findall(r'QueueName::(\w+) => format!\("\{\}([^"]+)"', body)}


def provisioned_tables():
    """provision.rs `tables()`: name -> {hash, range, indexes{name: (hash, range)}, types}."""
    src = read("functions", "adapters", "src", "aws", "provision.rs")
    consts = rust_consts()
    names = name_fns()
    body = src[src.index("fn tables(names: &AwsNames)"):]
    body = body[: body.index("\n}\n")]
    numeric = set(re.findall(r'if a == "(\w+)"', src))
    tables = {}
    ttl = {}
    for spec in re.split(r"TableSpec \{", body)[1:]:
        name = names[re.search(r"name: names\.(\w+)\(\)", spec).group(1)]
        hash_ = re.search(r'hash: "(\w+)"', spec).group(1)
        rng = re.search(r'range: (?:Some\("(\w+)"\)|None)', spec).group(1)
        indexes = {}
        for const, h, r, proj in re.findall(
            r'\(\s*index::(\w+),\s*"(\w+)",\s*(?:Some\("(\w+)"\)|None),\s*(Proj::\w+(?:\(&\[[^\]]*\]\))?),?\s*\)', spec
        ):
            indexes[consts[const]] = (h, r or None, projection(proj))
        tables[name] = {"hash": hash_, "range": rng or None, "indexes": indexes}
        ttl_attr = re.search(r'ttl: (?:Some\("(\w+)"\)|None)', spec).group(1)
        if ttl_attr:
            ttl[name] = ttl_attr
    return tables, numeric, ttl


def projection(proj):
    """provision.rs `Proj::…` as a template Projection."""
    if proj == "Proj::All":
        return {"ProjectionType": "ALL"}
    if proj == "Proj::Keys":
        return {"ProjectionType": "KEYS_ONLY"}
    attrs = re.findall(r'"(\w+)"', proj)
    assert proj.startswith("Proj::Include") and attrs, proj
    return {"ProjectionType": "INCLUDE", "NonKeyAttributes": attrs}


# ------------------------------------------------------------------ the template

PREFIX = "{prefix}"


def sub_name(v):
    """A name property as `{prefix}…` when it is `!Sub "${Prefix}…"`."""
    if isinstance(v, dict) and "Fn::Sub" in v and isinstance(v["Fn::Sub"], str):
        return v["Fn::Sub"].replace("${Prefix}", PREFIX)
    return v


class Template(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sam = expand.load()
        cls.t = expand.expand(cls.sam)
        cls.res = cls.t["Resources"]

    def of_type(self, ty):
        return {k: r for k, r in self.res.items() if r["Type"] == ty}

    def ref_id(self, v):
        """The logical id behind a Ref or GetAtt."""
        if isinstance(v, dict):
            if "Ref" in v:
                return v["Ref"]
            if "Fn::GetAtt" in v:
                g = v["Fn::GetAtt"]
                return g[0] if isinstance(g, list) else g.split(".")[0]
        return None

    # -------------------------------------------------------------- event sources

    def test_every_sqs_mapping_reports_batch_item_failures(self):
        esms = self.of_type("AWS::Lambda::EventSourceMapping")
        self.assertEqual(len(esms), 3, "router, officer-relay and notifier each consume one queue")
        for k, r in esms.items():
            p = r["Properties"]
            queue = self.res[self.ref_id(p["EventSourceArn"])]
            self.assertEqual(queue["Type"], "AWS::SQS::Queue", k)
            self.assertEqual(p.get("FunctionResponseTypes"), ["ReportBatchItemFailures"], k)
            self.assertLessEqual(p.get("BatchSize", 10), 10, k)

    def test_consumers_and_visibility_timeouts(self):
        wanted = {"InboundQueue": "RouterFunction", "RelayQueue": "OfficerRelayFunction", "NotifyQueue": "NotifierFunction"}
        for esm in self.of_type("AWS::Lambda::EventSourceMapping").values():
            p = esm["Properties"]
            q, fn = self.ref_id(p["EventSourceArn"]), self.ref_id(p["FunctionName"])
            self.assertEqual(wanted.pop(q), fn)
            timeout = self.res[fn]["Properties"]["Timeout"]
            vis = self.res[q]["Properties"]["VisibilityTimeout"]
            self.assertGreaterEqual(vis, 6 * timeout, f"{q}: visibility {vis} < 6 x {fn} timeout {timeout}")
        self.assertEqual(wanted, {})

    # -------------------------------------------------------------- environment

    def test_every_variable_the_code_reads_is_set(self):
        read_vars = env_vars_read()
        stale = sorted(set(NOT_SET) - set(read_vars))
        self.assertEqual(stale, [], "allow-listed variables the code no longer reads")
        required = sorted(set(read_vars) - set(NOT_SET) - IN_SECRET)
        self.assertIn("SHIKAYAT_INBOUND_QUEUE_URL", required)
        self.assertIn("SHIKAYAT_AWS_PREFIX", required)
        fns = self.of_type("AWS::Lambda::Function")
        self.assertEqual(len(fns), 5)
        for k, f in fns.items():
            env = f["Properties"].get("Environment", {}).get("Variables", {})
            missing = [v for v in required if v not in env]
            self.assertEqual(missing, [], f"{k} lacks variables the code reads ({', '.join(sorted(read_vars[m].pop() for m in missing)) if missing else ''})")
            leaked = sorted(IN_SECRET & set(env))
            self.assertEqual(leaked, [], f"{k}: secrets belong in SecureString parameters, not the environment")

    def test_functions_are_arm64_al2023_with_their_binaries(self):
        bins = set()
        for cargo in glob.glob(os.path.join(ROOT, "functions", "*", "Cargo.toml")):
            with open(cargo, encoding="utf-8") as f:
                bins |= set(re.findall(r'\[\[bin\]\]\s*name = "([^"]+)"', f.read()))
        for k, r in self.sam["Resources"].items():
            if r["Type"] != "AWS::Serverless::Function":
                continue
            self.assertEqual(r["Metadata"]["BuildMethod"], "rust-cargolambda", k)
            self.assertIn(r["Metadata"]["BuildProperties"]["Binary"], bins, k)
        for k, f in self.of_type("AWS::Lambda::Function").items():
            p = f["Properties"]
            self.assertEqual(p["Runtime"], "provided.al2023", k)
            self.assertEqual(p["Architectures"], ["arm64"], k)

    # -------------------------------------------------------------- data

    def test_tables_and_indexes_match_provision(self):
        expected, numeric, ttl = provisioned_tables()
        self.assertEqual(len(expected), 6)
        got = {}
        for k, r in self.of_type("AWS::DynamoDB::Table").items():
            p = r["Properties"]
            name = sub_name(p["TableName"])
            types = {a["AttributeName"]: a["AttributeType"] for a in p["AttributeDefinitions"]}

            def ks(schema):
                h = [e["AttributeName"] for e in schema if e["KeyType"] == "HASH"][0]
                rr = [e["AttributeName"] for e in schema if e["KeyType"] == "RANGE"]
                return h, (rr[0] if rr else None)

            h, rng = ks(p["KeySchema"])
            idx = {}
            for g in p.get("GlobalSecondaryIndexes", []):
                idx[g["IndexName"]] = ks(g["KeySchema"]) + (g["Projection"],)
            got[name] = {"hash": h, "range": rng, "indexes": idx}
            used = {h, rng} | {a for (ih, ir, _) in idx.values() for a in (ih, ir)}
            self.assertEqual(set(types), used - {None}, f"{name}: attribute definitions")
            for a, ty in types.items():
                self.assertEqual(ty, "N" if a in numeric else "S", f"{name}.{a}")
            self.assertEqual(p["BillingMode"], "PAY_PER_REQUEST", name)
            self.assertTrue(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], name)
            # DynamoDB's default, the AWS owned key: SSEEnabled would bill KMS requests.
            self.assertNotIn("SSESpecification", p, name)
            self.assertTrue(p["DeletionProtectionEnabled"], name)
            want_ttl = ttl.get(name)
            have_ttl = p.get("TimeToLiveSpecification")
            if want_ttl:
                self.assertEqual(have_ttl, {"AttributeName": want_ttl, "Enabled": True}, name)
            else:
                self.assertIsNone(have_ttl, name)
        self.assertEqual(got, expected)

    def test_complaint_indexes_are_few_and_hold_no_complaint(self):
        gsis = self.res["ComplaintsTable"]["Properties"]["GlobalSecondaryIndexes"]
        self.assertLessEqual(len(gsis), 4, "every index is one more copy of each write")
        for g in gsis:
            proj = g["Projection"]
            self.assertIn(proj["ProjectionType"], ("KEYS_ONLY", "INCLUDE"), g["IndexName"])
            self.assertLessEqual(len(proj.get("NonKeyAttributes", [])), 2, g["IndexName"])
            for big in ("doc", "outbox", "subject", "complainant_name"):
                self.assertNotIn(big, proj.get("NonKeyAttributes", []), g["IndexName"])

    def test_whoever_queries_complaints_may_fetch_them_by_key(self):
        for fn in self.of_type("AWS::Lambda::Function"):
            for st in self.statements(self.role_of(fn)):
                acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                if "dynamodb:Query" in acts and "ComplaintsTable" in json.dumps(st["Resource"]):
                    self.assertIn("dynamodb:BatchGetItem", acts, fn)

    def test_queues_match_names_and_provision(self):
        mains, dlqs = queue_name_arms("queue"), queue_name_arms("dead_letter_queue")
        by_name = {sub_name(r["Properties"]["QueueName"]): (k, r["Properties"]) for k, r in self.of_type("AWS::SQS::Queue").items()}
        self.assertEqual(set(by_name), set(mains.values()) | set(dlqs.values()))
        for q, name in mains.items():
            k, p = by_name[name]
            dk, dp = by_name[dlqs[q]]
            fifo = name.endswith(".fifo")
            self.assertEqual(bool(p.get("FifoQueue")), fifo, name)
            self.assertEqual(bool(dp.get("FifoQueue")), fifo, dlqs[q])
            if fifo:
                self.assertIs(p.get("ContentBasedDeduplication"), False, name)
                # High-throughput mode, as provision.rs sets it.
                self.assertEqual(p.get("DeduplicationScope"), "messageGroup", name)
                self.assertEqual(p.get("FifoThroughputLimit"), "perMessageGroupId", name)
                self.assertIn('"messageGroup"', read("functions", "adapters", "src", "aws", "provision.rs"))
            self.assertEqual(p["RedrivePolicy"]["maxReceiveCount"], 5, name)
            self.assertEqual(self.ref_id(p["RedrivePolicy"]["deadLetterTargetArn"]), dk, name)
            for n, pp in ((name, p), (dlqs[q], dp)):
                self.assertIs(pp.get("SqsManagedSseEnabled"), True, n)
            self.assertEqual(dp["MessageRetentionPeriod"], 1209600)

    def test_bucket(self):
        (k, b), = self.of_type("AWS::S3::Bucket").items()
        p = b["Properties"]
        default = p["BucketName"]["Fn::If"][1]
        self.assertEqual(sub_name(default), PREFIX + "media")
        self.assertTrue(all(p["PublicAccessBlockConfiguration"].values()))
        self.assertEqual(p["VersioningConfiguration"], {"Status": "Enabled"})
        rule = [r for r in p["LifecycleConfiguration"]["Rules"] if r.get("Transitions")][0]
        self.assertEqual(rule["Transitions"], [{"StorageClass": "STANDARD_IA", "TransitionInDays": 90}])
        (pol,) = self.of_type("AWS::S3::BucketPolicy").values()
        st = pol["Properties"]["PolicyDocument"]["Statement"][0]
        self.assertEqual((st["Effect"], st["Condition"]), ("Deny", {"Bool": {"aws:SecureTransport": "false"}}))

    # -------------------------------------------------------------- roles

    def statements(self, role_id):
        role = self.res[role_id]["Properties"]
        return [s for pol in role["Policies"] for s in pol["PolicyDocument"]["Statement"]]

    def role_of(self, fn):
        return self.ref_id(self.res[fn]["Properties"]["Role"])

    def actions(self, role_id):
        out = []
        for s in self.statements(role_id):
            a = s["Action"]
            out += a if isinstance(a, list) else [a]
        return out

    def test_secrets_are_securestring_parameters_not_secrets_manager(self):
        """Secrets Manager is $0.40 a secret a month; SecureString parameters are free."""
        self.assertFalse(self.of_type("AWS::SecretsManager::Secret"))
        for k, f in self.of_type("AWS::Lambda::Function").items():
            env = f["Properties"]["Environment"]["Variables"]
            self.assertIn("WHATSAPP_WEBHOOK_SECRET_PARAMETER", env, k)
            acts = self.actions(self.role_of(k))
            self.assertFalse([a for a in acts if a.startswith("secretsmanager:")], k)
            self.assertIn("ssm:GetParameter", acts, k)

    def test_webhook_role_only_enqueues_and_reads_its_secret(self):
        role = self.role_of("WebhookFunction")
        acts = self.actions(role)
        self.assertFalse([a for a in acts if a.startswith("dynamodb:")], "the webhook must not touch DynamoDB")
        self.assertFalse([a for a in acts if a.startswith("s3:")])
        for s in self.statements(role):
            a = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
            if any(x.startswith("sqs:") for x in a):
                self.assertEqual(s["Action"], "sqs:SendMessage")
                self.assertEqual(self.ref_id(s["Resource"]), "InboundQueue")
            if any(x.startswith("ssm:") for x in a):
                # Only the webhook's parameter: never the access token's.
                self.assertNotIn("whatsapp", json.dumps(s["Resource"]))
                self.assertIn("webhook", json.dumps(s["Resource"]))
        self.assertEqual(sorted(set(acts)), ["logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage", "ssm:GetParameter"])
        env = self.res["WebhookFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(env["WHATSAPP_SECRET_PARAMETER"], "", "the webhook is not told where the access token is")

    def test_no_function_writes_the_district_config(self):
        """The settings table holds the district configuration (shikayat-admin load-config) and
        the complaint-number counters: a function may update counters only."""
        for fn in self.of_type("AWS::Lambda::Function"):
            for s in self.statements(self.role_of(fn)):
                acts = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
                writes = [a for a in acts if a in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")]
                res = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
                if writes and any(self.ref_id(r) == "SettingsTable" for r in res if isinstance(r, dict)):
                    self.assertEqual(writes, ["dynamodb:UpdateItem"], fn)
                    self.assertEqual(s["Condition"], {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["counter#*"]}}, fn)

    def test_the_escalator_is_never_retried_beside_the_next_sweep(self):
        configs = [r for r in self.of_type("AWS::Lambda::EventInvokeConfig").values()
                   if self.ref_id(r["Properties"]["FunctionName"]) == "EscalatorFunction"]
        self.assertEqual(len(configs), 1)
        self.assertEqual(configs[0]["Properties"]["MaximumRetryAttempts"], 0)

    def test_logs_at_warn_in_json(self):
        for k, f in self.of_type("AWS::Lambda::Function").items():
            self.assertEqual(f["Properties"].get("LoggingConfig", {}).get("ApplicationLogLevel"), "WARN", k)
            self.assertEqual(f["Properties"]["LoggingConfig"].get("LogFormat"), "JSON", k)
            self.assertNotIn("RUST_LOG", f["Properties"].get("Environment", {}).get("Variables", {}), k)

    def test_alarms_cover_throttling_refusals_and_the_budget(self):
        alarms = self.of_type("AWS::CloudWatch::Alarm")
        text = json.dumps(alarms)
        self.assertIn("ThrottledRequests", text, "DynamoDB (tables and indexes)")
        self.assertIn('"MetricName": "Url4xxCount"', text, "the webhook's refusals (a rotated app secret)")
        self.assertEqual(len(self.of_type("AWS::Budgets::Budget")), 1)
        self.assertFalse(self.of_type("AWS::Logs::MetricFilter"), "custom metrics are billed monthly; the dashboard counts log lines")
        rules = self.res["MediaBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        self.assertTrue([r for r in rules if r.get("NoncurrentVersionExpiration")], "old versions of citizens' media expire")

    def test_one_role_per_function_no_wildcards(self):
        roles = [self.role_of(f) for f in self.of_type("AWS::Lambda::Function")]
        self.assertEqual(len(set(roles)), 5)
        for r in roles:
            for s in self.statements(r):
                self.assertNotEqual(s.get("Resource"), "*", r)
                acts = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
                self.assertFalse([a for a in acts if a.endswith(":*") or a == "*"], r)
            self.assertNotIn("ManagedPolicyArns", self.res[r]["Properties"], r)

    def test_only_the_router_writes_media(self):
        for fn in self.of_type("AWS::Lambda::Function"):
            acts = self.actions(self.role_of(fn))
            self.assertEqual("s3:PutObject" in acts, fn == "RouterFunction", fn)


if __name__ == "__main__":
    unittest.main(verbosity=1)
