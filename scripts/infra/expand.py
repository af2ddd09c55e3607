#!/usr/bin/env python3
"""Expands infra/template.yaml (AWS SAM) into plain CloudFormation, offline, as `sam package` +
the SAM transform would: every function's CodeUri becomes an S3 location (bucket and key given
here), then aws-sam-translator expands the serverless resources.

    expand.py [--template infra/template.yaml] [--bucket B] [--out expanded.json]

Keys are `<function logical id>.zip`. No network: the translator needs IAM only for managed
policy names, and the template names none.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "ap-south-1")

from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, "infra", "template.yaml")


class NoManagedPolicies:
    """The template attaches no managed policies by name, so nothing is looked up."""

    def load(self):
        return {}


def load(path=TEMPLATE):
    with open(path, encoding="utf-8") as f:
        return yaml_parse(f.read())


def function_ids(template):
    return [k for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]


def packaged(template, bucket):
    """The template as `sam package` leaves it: CodeUri is an S3 object per function."""
    t = json.loads(json.dumps(template))
    t.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for fid in function_ids(t):
        t["Resources"][fid]["Properties"]["CodeUri"] = {"Bucket": bucket, "Key": f"{fid}.zip"}
    return t


def expand(template=None, bucket="shikayat-artifacts-placeholder"):
    template = template if template is not None else load()
    return transform(packaged(template, bucket), {}, NoManagedPolicies())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--template", default=TEMPLATE)
    ap.add_argument("--bucket", default="shikayat-artifacts-placeholder")
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    out = json.dumps(expand(load(a.template), a.bucket), indent=1, sort_keys=True)
    if a.out == "-":
        sys.stdout.write(out + "\n")
    else:
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(out + "\n")


if __name__ == "__main__":
    main()
