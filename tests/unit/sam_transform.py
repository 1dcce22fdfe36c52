"""Print template.yaml as `sam deploy` turns it into CloudFormation (the AWS::Serverless
transform, offline), as JSON. Runs in sam's own environment (.tools/sam), which has
samtranslator: ``.tools/sam/bin/python tests/unit/sam_transform.py template.yaml``."""

import json
import os
import re
import sys
from pathlib import Path

from samcli.yamlhelper import yaml_parse  # sam's loader: CloudFormation's tags
from samtranslator.translator.transform import transform

# the managed policies SAM may attach, by name (what the IAM API would answer, offline)
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
}


class _ManagedPolicies:
    def load(self) -> dict:
        return MANAGED_POLICIES


def main(path: str) -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the transform needs a region, no account
    root = Path(path).resolve().parent
    template = yaml_parse(Path(path).read_text())
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":  # what `sam package` does
            properties["CodeUri"] = "s3://bucket/code.zip"
        if resource["Type"] == "AWS::Serverless::StateMachine":
            # a bare ${Name} stands for a number CloudFormation substitutes; any number does here
            text = re.sub(r"(?<=: )\$\{\w+\}", "1", (root / properties.pop("DefinitionUri")).read_text())
            properties["Definition"] = json.loads(text)
    print(json.dumps(transform(template, {}, _ManagedPolicies()), default=str))


if __name__ == "__main__":
    main(sys.argv[1])
