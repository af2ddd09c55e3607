#!/usr/bin/env python3
"""Deploys infra/template.yaml onto moto's CloudFormation, as `sam package` + `sam deploy` would
on AWS: uploads a zip per function to an artifacts bucket, expands the SAM template offline with
aws-sam-translator, creates the stack with the given Prefix, waits for CREATE_COMPLETE and prints
the stack's outputs as one JSON object on stdout.

    deploy_moto.py --endpoint http://127.0.0.1:PORT --prefix e2e1x0- [--zips DIR]

The zips are placeholders unless --zips names a directory of real ones (<binary>.zip, as
scripts/measure-lambdas.sh builds them): moto cannot run Lambda functions (that needs Docker),
and it ignores Architectures. It also skips resource types it does not implement (the function URL, the alarms)
with a warning in its log. Two changes to the expanded template, for moto only: the function URL is
left out (moto cannot describe an output built on it), and the event source
mappings are created disabled, because moto would otherwise try to invoke the functions through
Docker on every message sent, taking the messages the local runner's pollers should receive.
"""
import argparse
import io
import json
import os
import sys
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("AWS_DEFAULT_REGION", "ap-south-1")
import boto3  # noqa: E402

import expand  # noqa: E402

ARTIFACTS = "shikayat-artifacts"


def placeholder_zip(binary):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        z.writestr(info, f"#!/bin/sh\necho 'placeholder for {binary}: moto does not run functions' >&2\nexit 1\n")
    return buf.getvalue()


def client(service, endpoint, region):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def deploy(endpoint, prefix, region, zips=None, timeout=120):
    sam = expand.load()
    s3 = client("s3", endpoint, region)
    try:
        s3.create_bucket(Bucket=ARTIFACTS, CreateBucketConfiguration={"LocationConstraint": region})
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass
    for fid in expand.function_ids(sam):
        binary = sam["Resources"][fid]["Metadata"]["BuildProperties"]["Binary"]
        path = os.path.join(zips, f"{binary}.zip") if zips else None
        body = open(path, "rb").read() if path and os.path.exists(path) else placeholder_zip(binary)
        s3.put_object(Bucket=ARTIFACTS, Key=f"{fid}.zip", Body=body)
    cfn_template = expand.expand(sam, ARTIFACTS)
    for r in cfn_template["Resources"].values():
        if r["Type"] == "AWS::Lambda::EventSourceMapping":
            r["Properties"]["Enabled"] = False
    # moto has no function URLs: it skips the resource, then fails describing an output that
    # reads its URL. The resource goes, and so does any output built on it.
    urls = [k for k, r in cfn_template["Resources"].items() if r["Type"] == "AWS::Lambda::Url"]
    for k in urls:
        del cfn_template["Resources"][k]
    outputs = cfn_template.get("Outputs", {})
    for name in [o for o, v in outputs.items() if any(k in json.dumps(v) for k in urls)]:
        outputs[name]["Value"] = "moto has no function URLs"
    cfn = client("cloudformation", endpoint, region)
    stack = f"{prefix}desk"
    cfn.create_stack(
        StackName=stack,
        TemplateBody=json.dumps(cfn_template, separators=(",", ":")),
        Parameters=[
            {"ParameterKey": "Prefix", "ParameterValue": prefix},
            {"ParameterKey": "WhatsAppPhoneNumberId", "ParameterValue": "100000000000001"},
        ],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deadline = time.monotonic() + timeout
    while True:
        s = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        status = s["StackStatus"]
        if status == "CREATE_COMPLETE":
            return {o["OutputKey"]: o["OutputValue"] for o in s.get("Outputs", [])}
        if status.endswith("FAILED") or status.startswith("ROLLBACK") or time.monotonic() > deadline:
            events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
            bad = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}" for e in events if "FAILED" in e["ResourceStatus"]]
            raise SystemExit(f"stack {stack}: {status}\n" + "\n".join(bad))
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", default=os.environ.get("SHIKAYAT_TEST_AWS_ENDPOINT"))
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--region", default=os.environ.get("AWS_REGION", "ap-south-1"))
    ap.add_argument("--zips", help="a directory of <binary>.zip files to upload instead of placeholders")
    a = ap.parse_args()
    if not a.endpoint:
        ap.error("--endpoint (or SHIKAYAT_TEST_AWS_ENDPOINT) is required: this deploys onto moto")
    print(json.dumps(deploy(a.endpoint, a.prefix, a.region, a.zips), indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
