#!/usr/bin/env python3
"""Derive optiserve's corpus of real Step Functions state machines (tests/fixtures/asl-corpus/).

Each corpus file is the *structure* of one public state machine definition, read from a local
bare git mirror of its repository at a pinned commit (`git show <commit>:<path>`; nothing is
downloaded): the states with their names, types and transitions, and the fields that decide how
optiserve models a state (Resource, the Lambda FunctionName, a nested StateMachineArn, Seconds,
Map concurrency, mode, reader and batching, Retry and Catch). Everything else (parameters and
payloads, paths, Comments, the conditions of Choice rules) is left out, and deployment
placeholders (`${ProcessFunctionArn}`, `${AWS::Region}`, terraform variables) are replaced with
concrete names and ARNs; the README lists, per file, what was substituted.

The script is our own code, needs only python3's standard library, and is NOT run in CI: its
output is committed. Re-run it to re-derive the corpus from the pinned commits:

    python3 scripts/asl-corpus/derive_corpus.py [--mirrors /work/.mirror] [--out DIR]
"""

import argparse
import json
import os
import re
import subprocess
import sys

SOURCES = {
    "wfc": {
        "repo": "aws-samples/step-functions-workflows-collection",
        "commit": "83bbec48d8f065de3dbcb4c5d8fe0e58a0479334",
        "licence": "MIT-0",
    },
    "ex": {
        "repo": "aws-samples/aws-stepfunctions-examples",
        "commit": "88855b62216b71d45ec7a3fd1e8ec44ff5f0d683",
        "licence": "MIT-0",
    },
    "sp": {
        "repo": "aws-samples/serverless-patterns",
        "commit": "fb7b5d06c27d8abb1bd35e52ab7523acf4baab7b",
        "licence": "MIT-0",
    },
    "pt": {
        "repo": "alexcasalboni/aws-lambda-power-tuning",
        "commit": "262ecc2d6cf99401e02a25ce7e81b2ad4880f10f",
        "licence": "Apache-2.0",
    },
    "sl": {
        "repo": "pacslab/SLApp-PerfCost-MdlOpt",
        "commit": "4173c9823edd42049b7e7074f370a9e97bcf17d9",
        "licence": "MIT",
    },
}

# (source, path in the repository): every definition that invokes a Lambda function in the
# sources above, one per pattern (the CDK, SAM and Terraform copies of one pattern counted once),
# and three that call no Lambda function at all (refused: "nothing to tune").
FILES = [
    ("wfc", "app-control-concurrency-with-dynamodb-tf/statemachines/dynamodb-semaphore.asl.json"),
    ("wfc", "app-control-concurrency-with-dynamodb-tf/statemachines/statemachine.asl.json"),
    ("wfc", "automating-a-security-incident-with-step-functions-cdk/python/statemachine/statemachine.asl.json"),
    ("wfc", "background-cropper/statemachine/img-cropper-sfn.asl.json"),
    ("wfc", "batch-lambda-cdk/batch_lambda_cdk/statemachine/statemachine.asl.json"),
    ("wfc", "call-http-api/statemachine/statemachine.asl.json"),
    ("wfc", "calling-async-api-callback/statemachine/workflow_AsyncAPICallbackPattern.asl.json"),
    ("wfc", "calling-async-api-callback/statemachine/workflow_ExternalAsyncAPISimulator.asl.json"),
    ("wfc", "chain-of-responsibility-cdk/python/statemachine/atm_dispenser_chained.asl.json"),
    ("wfc", "common-error-handling/statemachine/common_error_option1.asl.json"),
    ("wfc", "common-error-handling/statemachine/common_error_option2.asl.json"),
    ("wfc", "cqrs/statemachine/statemachine.asl.json"),
    ("wfc", "distributed-map-montecarlo/statemachine/statemachine.asl.json"),
    ("wfc", "distributed-map-state-gif-generator/statemachine/workflow.asl.json"),
    ("wfc", "dynamically-process-data-with-map-state-cdk/statemachine/statemachine.asl.json"),
    ("wfc", "dynamodb-migrations/statemachine/statemachine.asl.json"),
    ("wfc", "dynamodb-transfer/statemachine/statemachine.asl.json"),
    ("wfc", "event-sourcing/statemachine/event-sourcing.asl.json"),
    ("wfc", "eventbridge-rules-to-schedules/statemachine/statemachine.asl.json"),
    ("wfc", "execution-error-notification-workflow/statemachine/statemachine.asl.json"),
    ("wfc", "explicit-failure-with-parallel-states/statemachine/statemachine.asl.json"),
    ("wfc", "generate-thumbnail/statemachine/statemachine.asl.json"),
    ("wfc", "gif-generator/statemachine/workflow.asl.json"),
    ("wfc", "github-repo-views-counter/statemachine/statemachine.asl.json"),
    ("wfc", "human-in-the-loop-cdk/statemachine/statemachine.asl.json"),
    ("wfc", "idempotent-workflow-sam/statemachine/statemachine.asl.json"),
    ("wfc", "image-processing-app/statemachine/statemachine.asl.json"),
    ("wfc", "inventory-management-sam/statemachine/create-purchase-order-statemachine.asl.json"),
    ("wfc", "lambda-orchestration-cdk/lambda_orchestration_cdk/statemachine/statemachine.asl.json"),
    ("wfc", "lookout-for-vision-inference-sam/statemachine/statemachine.asl.json"),
    ("wfc", "migrate-csv-to-ddb-distributed-map-main/statemachine/statemachine.asl.json"),
    ("wfc", "parallel-agent-early-stopping/statemachine/main.asl.json"),
    ("wfc", "parallel-agent-early-stopping/statemachine/worker.asl.json"),
    ("wfc", "parallelized-embedding-pipeline/statemachine.json"),
    ("wfc", "quorum-with-parallel-pattern/statemachine/statemachine.asl.json"),
    ("wfc", "retry-with-exponential-backoff-sam/statemachine/statemachine.asl.json"),
    ("wfc", "s3-glacier-multi-file-restore-sam/statemachine/statemachine.asl.json"),
    ("wfc", "s3-sfn-lambda-bedrock/statemachine/statemachine.asl.json"),
    ("wfc", "saga-pattern-cdk/resources/statemachine.asl.json"),
    ("wfc", "scatter-gather/statemachine/statemachine.asl.json"),
    ("wfc", "selective-checkpointing-cdk/typescript/statemachine/statemachineChild.asl.json"),
    ("wfc", "sfn-athena-results/statemachine/query-athena.asl.json"),
    ("wfc", "sfn-bedrock-describe-assets/statemachine/statemachine.asl.json"),
    ("wfc", "sfn-datazone-update-metadata-cdk/typescript/statemachine/statemachine.asl.json"),
    ("wfc", "sfn-dynamodb-batchwriteitem/statemachine/statemachine.asl.json"),
    ("wfc", "sfn-eks-inventory/statemachine/statemachine.asl.json"),
    ("wfc", "sfn-rekognition-video-catalog-workflow/statemachine/statemachine.asl.json"),
    ("wfc", "sfn-sns-task-timer/statemachine/TaskTimer.asl.json"),
    ("wfc", "sfn-sns-task-timer/statemachine/TimeBoundedTasks.asl.json"),
    ("wfc", "sfn-start-athena-query-tf/statemachine/statemachine.asl.json"),
    ("wfc", "shared-fallback-state-jsonata/statemachine/statemachine.asl.json"),
    ("wfc", "stateless-roundrobin/statemachine/statemachine.asl.json"),
    ("wfc", "step-functions-lambda-version-cleanup/statemachine/statemachine.asl.json"),
    ("wfc", "step-functions-load-testing/statemachine/load-generator-statemachine.asl.json"),
    ("wfc", "step-functions-load-testing/statemachine/load-orchestrator-statemachine.asl.json"),
    ("wfc", "stepfunction-progress-tracking/statemachine/statemachine.asl.json"),
    ("wfc", "synchronous-api/statemachine/statemachine.asl.json"),
    ("wfc", "text-processing-sqs-express-cdk/statemachine/statemachine.asl.json"),
    ("wfc", "train-ml-model/statemachine/statemachine.asl.json"),
    ("wfc", "transfer-data-records/statemachine/statemachine.asl.json"),
    ("wfc", "uml-statemachine/statemachine/BlogBackgroundChecksSM.asl.json"),
    ("wfc", "uml-statemachine/statemachine/BlogBuySellSM.asl.json"),
    ("wfc", "uml-statemachine/statemachine/BlogOpenRequestSM.asl.json"),
    ("wfc", "uml-statemachine/statemachine/BlogServiceRequestSM.asl.json"),
    ("wfc", "vod-transcode-delivery-cdk/typescript/statemachine/delivery-statemachine.asl.json"),
    ("wfc", "vod-transcode-delivery-cdk/typescript/statemachine/transcoding-statemachine.asl.json.asl.json"),
    ("wfc", "webhook-provider/statemachine/statemachine.asl.json"),
    ("wfc", "workflow-within-a-workflow-cdk/statemachines/nested-state-machine.asl.json"),
    ("ex", "sam/app-business-rules-orchestration/statemachine/businessrules_orchestration.asl.json"),
    ("ex", "sam/app-dataquality-using-lambda/statemachine/dataquality.asl.json"),
    ("ex", "sam/app-decompose-for-parallelism/statemachine/distributor.asl.json"),
    ("ex", "sam/app-decompose-for-parallelism/statemachine/main.asl.json"),
    ("ex", "sam/app-decompose-for-parallelism/statemachine/test-result-recorder.asl.json"),
    ("ex", "sam/app-local-testing-mock-config/statemachine/local_testing.asl.json"),
    ("ex", "sam/app-order-management/statemachines/ship-order.asl.json"),
    ("ex", "sam/app-s3-athena-dataprocessing/statemachines/initialize_account.asl.json"),
    ("ex", "sam/demo-distributed-map-data-processing/statemachines/delete-s3-data.asl.json"),
    ("ex", "sam/demo-distributed-map-data-processing/statemachines/dmap-temperatures.asl.json"),
    ("ex", "usecases/genai-prompt-chaining-hitl/src/workflow.asl.json"),
    ("sp", "appsync-lambda-sfn-sam/statemachine/booking_step_function.asl.json"),
    ("sp", "cdk-custom-resource-with-wait-condition/lib/sfn/long-running-process.asl.json"),
    ("sp", "eventbridge-stepfunction-lambda-getfunctionstatus/statemachine/definition.asl.json"),
    ("sp", "lambda-s3-sfn/src/statemachine/processFileStateMachine.asl.json"),
    ("sp", "lambda-step-functions-sam-java/sfn-definition.asl.json"),
    ("sp", "sfn-lambda-dynamodb/stepFunction/stepFunction.asl.json"),
    ("sp", "sfn-lambda-lambda/statemachine/StateMachine.asl.json"),
    ("sp", "sfn-lambda/statemachine/stateMachine.asl.json"),
    ("sp", "sfn-log-export/src/statemachine/stateMachine.asl.json"),
    ("sp", "sqs-stepfunctions-pipes-pattern/statemachine/StateMachine.asl.json"),
    ("sp", "stepfunctions-fargate-lambda/statemachine.asl.json"),
    ("sp", "systems-manager-automation-to-stepfunctions/src/statemchinedefinitionstring.asl.json"),
    ("pt", "statemachine/statemachine.asl.json"),
    ("sl", "evaluations/model/App8/App8.json"),
    ("sl", "evaluations/model/App10/App10.json"),
    ("sl", "evaluations/model/App12/App12.json"),
    ("sl", "evaluations/model/App14/App14.json"),
    ("sl", "evaluations/model/App16/App16.json"),
    # No Lambda function at all.
    ("wfc", "emit-and-wait/statemachine/statemachine.asl.json"),
    ("wfc", "workflow-within-a-workflow-cdk/statemachines/main-state-machine.asl.json"),
    ("wfc", "sfn-query-large-datasets-sam/statemachine/statemachine.asl.json"),
]

REGION = "us-east-1"
ACCOUNT = "123456789012"
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def git_show(mirrors, source, path):
    s = SOURCES[source]
    repo = os.path.join(mirrors, s["repo"].replace("/", "+"), "repo")
    return subprocess.run(
        ["git", "-C", repo, "show", f"{s['commit']}:{path}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def name_of(placeholder):
    """A function or state machine name for a placeholder: `ProcessFunctionArn` → `ProcessFunction`."""
    x = placeholder.split(".")[-1]
    x = re.sub(r"(Arn|ARN|Name|_arn|_name)$", "", x) or x
    x = re.sub(r"[^A-Za-z0-9_-]", "-", x).strip("-") or "fn"
    return x[:64]


class Subst:
    def __init__(self):
        self.seen = {}

    def note(self, original, replacement):
        self.seen.setdefault(original, replacement)

    def text(self, s):
        """Pseudo-parameters and any other placeholder inside a string."""
        out = s
        # A placeholder in an ARN's partition: the aws partition.
        m = re.match(r"arn:(\$\{[^}]*\}):", out)
        if m:
            self.note(m.group(1), "aws")
            out = "arn:aws:" + out[m.end():]
        for k, v in (
            ("${AWS::Region}", REGION),
            ("${AWS::AccountId}", ACCOUNT),
            ("${AWS::Partition}", "aws"),
        ):
            if k in out:
                self.note(k, v)
                out = out.replace(k, v)

        def rep(m):
            r = name_of(m.group(1))
            self.note(m.group(0), r)
            return r

        return PLACEHOLDER.sub(rep, out)

    def lambda_arn(self, s):
        """A Lambda function reference (Resource or FunctionName), placeholders made concrete."""
        m = PLACEHOLDER.fullmatch(s)
        if m:
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name_of(m.group(1))}"
            self.note(s, arn)
            return arn
        out = self.text(s)
        # A literal ARN keeps its function name (and qualifier); the account and region are ours.
        m = re.fullmatch(r"arn:aws:lambda:[^:]*:[^:]*:function:(.*)", out)
        if m:
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{m.group(1)}"
        return out

    def resource(self, s):
        m = PLACEHOLDER.fullmatch(s)
        if m:
            n = m.group(1)
            if "activity" in n.lower():
                arn = f"arn:aws:states:{REGION}:{ACCOUNT}:activity:{name_of(n)}"
            else:
                arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name_of(n)}"
            self.note(s, arn)
            return arn
        out = self.text(s)
        if out.startswith("arn:aws:lambda:"):
            return self.lambda_arn(out)
        return out


def numeric(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def jsonata(s):
    return isinstance(s, str) and s.strip().startswith("{%")


def derive_rule(rule, jsonata_mode):
    out = {}
    if jsonata_mode or "Condition" in rule:
        out["Condition"] = "{% $states.input.ok %}"
    else:
        out["Variable"] = "$.ok"
        out["BooleanEquals"] = True
    out["Next"] = rule.get("Next")
    return out


def derive_machine(m, sub, jsonata_mode=False):
    out = {}
    if "QueryLanguage" in m:
        out["QueryLanguage"] = m["QueryLanguage"]
        jsonata_mode = m["QueryLanguage"] == "JSONata"
    out["StartAt"] = m.get("StartAt")
    out["States"] = {
        name: derive_state(s, sub, jsonata_mode) for name, s in (m.get("States") or {}).items()
    }
    return out


def derive_params(p, resource, sub):
    if not isinstance(p, dict):
        return None
    out = {}
    lam = resource.startswith("arn:aws:states:::lambda:invoke")
    for k, v in p.items():
        if lam and k == "FunctionName" and isinstance(v, str):
            out[k] = "{% $states.input.function %}" if jsonata(v) else sub.lambda_arn(v)
        elif lam and k == "FunctionName.$":
            out[k] = "$.function"
        elif k == "StateMachineArn" and isinstance(v, str):
            out[k] = sub.text(v)
        elif k == "StateMachineArn.$":
            out[k] = "$.stateMachine"
    return out or None


def derive_state(s, sub, jsonata_mode):
    if not isinstance(s, dict):
        return s
    if s.get("QueryLanguage") == "JSONata":
        jsonata_mode = True
    t = s.get("Type")
    out = {"Type": t}
    if "QueryLanguage" in s:
        out["QueryLanguage"] = s["QueryLanguage"]
    if t == "Task":
        r = s.get("Resource")
        if isinstance(r, str):
            out["Resource"] = sub.resource(r)
        for key in ("Parameters", "Arguments"):
            p = derive_params(s.get(key), out.get("Resource", ""), sub)
            if p:
                out[key] = p
    elif t == "Choice":
        out["Choices"] = [derive_rule(r, jsonata_mode) for r in s.get("Choices", [])]
        if "Default" in s:
            out["Default"] = s["Default"]
    elif t == "Wait":
        if "Seconds" in s:
            v = s["Seconds"]
            out["Seconds"] = v if numeric(v) else "{% $states.input.seconds %}"
        for key, generic in (
            ("SecondsPath", "$.seconds"),
            ("Timestamp", "2026-01-01T00:00:00Z"),
            ("TimestampPath", "$.timestamp"),
        ):
            if key in s:
                v = s[key]
                out[key] = "{% $states.input.timestamp %}" if jsonata(v) else generic
    elif t == "Parallel":
        out["Branches"] = [derive_machine(b, sub, jsonata_mode) for b in s.get("Branches", [])]
    elif t == "Map":
        key = "ItemProcessor" if "ItemProcessor" in s else "Iterator"
        body = s.get(key) or {}
        derived = derive_machine(body, sub, jsonata_mode)
        pc = body.get("ProcessorConfig")
        if isinstance(pc, dict):
            derived = {
                "ProcessorConfig": {
                    k: v for k, v in pc.items() if k in ("Mode", "ExecutionType")
                },
                **derived,
            }
        out[key] = derived
        reader = s.get("ItemReader")
        if isinstance(reader, dict):
            r = {"Resource": sub.text(reader.get("Resource", ""))}
            rc = reader.get("ReaderConfig")
            if isinstance(rc, dict):
                keep = {k: v for k, v in rc.items() if k in ("InputType", "MaxItems") and not isinstance(v, dict)}
                if keep:
                    r["ReaderConfig"] = keep
            out["ItemReader"] = r
        batcher = s.get("ItemBatcher")
        if isinstance(batcher, dict):
            out["ItemBatcher"] = {
                k: (v if numeric(v) else "$.batch")
                for k, v in batcher.items()
                if k in ("MaxItemsPerBatch", "MaxInputBytesPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath")
            }
        writer = s.get("ResultWriter")
        if isinstance(writer, dict) and isinstance(writer.get("Resource"), str):
            out["ResultWriter"] = {"Resource": sub.text(writer["Resource"])}
        if "MaxConcurrency" in s:
            v = s["MaxConcurrency"]
            out["MaxConcurrency"] = v if numeric(v) else "{% $states.input.concurrency %}"
        if "MaxConcurrencyPath" in s:
            out["MaxConcurrencyPath"] = "$.concurrency"
    if t in ("Task", "Parallel", "Map"):
        if isinstance(s.get("Retry"), list):
            out["Retry"] = [
                {k: v for k, v in r.items() if k in ("ErrorEquals", "MaxAttempts")}
                for r in s["Retry"]
                if isinstance(r, dict)
            ]
        if isinstance(s.get("Catch"), list):
            out["Catch"] = [
                {k: v for k, v in c.items() if k in ("ErrorEquals", "Next")}
                for c in s["Catch"]
                if isinstance(c, dict)
            ]
    if "Next" in s:
        out["Next"] = s["Next"]
    if "End" in s:
        out["End"] = s["End"]
    return out


def parse(text):
    # Unquoted placeholders (a number set at deployment) would not parse: make them numbers.
    return json.loads(re.sub(r":\s*\$\{[^}]*\}(\s*[,}\n])", r": 1\1", text))


def out_name(source, path, taken):
    parts = path.split("/")
    family = re.sub(r"-(cdk|sam|tf)$", "", parts[0]) if source != "ex" else parts[1]
    if source == "pt":
        family = "aws-lambda-power-tuning"
    if source == "sl":
        family = "tpds20-" + parts[2].lower()
    stem = re.sub(r"(\.asl)?\.json(\.asl\.json)?$", "", parts[-1])
    name = family
    if stem.lower() not in ("statemachine", "workflow", "definition", family.lower()) and source != "sl":
        name = f"{family}--{stem}"
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", name).lower()
    base, k = name, 2
    while name in taken:
        name = f"{base}-{k}"
        k += 1
    taken.add(name)
    return f"{source}--{name}.asl.json"


README_HEAD = """# A corpus of real Step Functions state machines

{n} state machine definitions from public repositories, one per pattern, of the shapes real
workflows have: SDK service integrations (SNS, SQS, DynamoDB, EventBridge, Athena, Glue, ECS, …),
nested executions (`states:startExecution.sync`), callbacks (`.waitForTaskToken`), Distributed
Maps (`ItemReader`, `ItemBatcher`, `MaxConcurrency`), polling loops, functions used by several
states, JSONata, Parallel and inline Map states. `tests/tests/asl_corpus.rs` imports every one
(see *Import rate* below).

**What the files hold.** Each file is *derived* from the definition named in the table, by
`scripts/asl-corpus/derive_corpus.py` (our own code, run by hand against local mirrors at the
pinned commits; it is not run in CI): the states with their names, types and transitions, and
the fields that decide how optiserve models a state — `Resource`, a Lambda `FunctionName`, a
nested `StateMachineArn`, a Wait's `Seconds` (or that it uses `SecondsPath`, `Timestamp`, …), a
Map's mode, `ItemReader`, `ItemBatcher` and `MaxConcurrency`, `Retry` and `Catch`. Everything
else (parameters, payloads, paths, comments) is left out, the conditions of Choice rules are
replaced by a neutral one, and deployment placeholders are made concrete: a placeholder that
stands for a Lambda function (`${ProcessFunctionArn}`) becomes
`arn:aws:lambda:us-east-1:123456789012:function:ProcessFunction`, `${AWS::Region}` and
`${AWS::AccountId}` become `us-east-1` and `123456789012`, any other placeholder its name
(`substituted` in `manifest.json` lists each file's). Literal Lambda ARNs keep their function
name, with our account and region.

**Licences.** Every source is under a permissive licence: MIT-0
(`aws-samples/step-functions-workflows-collection`, `aws-samples/aws-stepfunctions-examples`,
`aws-samples/serverless-patterns`), Apache-2.0 (`alexcasalboni/aws-lambda-power-tuning`), MIT
(`pacslab/SLApp-PerfCost-MdlOpt`, "Copyright (c) 2020 Changyuan Lin": the state machines of
Lin & Khazaei, TPDS 2020).

"""

RATE_START = "<!-- import-rate -->"
RATE_END = "<!-- /import-rate -->"


def write_readme(out, rows):
    path = os.path.join(out, "README.md")
    rate = RATE_START + "\n## Import rate\n\n(run the test and fill in)\n" + RATE_END
    if os.path.exists(path):
        old = open(path).read()
        if RATE_START in old and RATE_END in old:
            rate = old[old.index(RATE_START) : old.index(RATE_END) + len(RATE_END)]
    lines = [README_HEAD.replace("{n}", str(len(rows))), rate, "", "## Files", ""]
    lines.append("| file | repository | path | commit | licence |")
    lines.append("|---|---|---|---|---|")
    for name, source, p, _ in rows:
        s = SOURCES[source]
        lines.append(f"| `{name}` | {s['repo']} | `{p}` | `{s['commit'][:12]}` | {s['licence']} |")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirrors", default="/work/.mirror")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "fixtures", "asl-corpus"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.out):
        if f.endswith(".asl.json"):
            os.remove(os.path.join(args.out, f))
    taken = set()
    rows = []
    for source, path in FILES:
        text = git_show(args.mirrors, source, path)
        machine = parse(text)
        if "Definition" in machine and "States" not in machine:
            machine = machine["Definition"]
        sub = Subst()
        derived = derive_machine(machine, sub)
        name = out_name(source, path, taken)
        with open(os.path.join(args.out, name), "w") as fh:
            json.dump(derived, fh, indent=2)
            fh.write("\n")
        rows.append((name, source, path, sub.seen))
    manifest = [
        {
            "file": name,
            "repository": SOURCES[source]["repo"],
            "path": path,
            "commit": SOURCES[source]["commit"],
            "licence": SOURCES[source]["licence"],
            "substituted": seen,
        }
        for name, source, path, seen in rows
    ]
    with open(os.path.join(args.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=False)
        fh.write("\n")
    write_readme(args.out, rows)
    print(f"wrote {len(rows)} definitions to {os.path.normpath(args.out)}", file=sys.stderr)


if __name__ == "__main__":
    main()
