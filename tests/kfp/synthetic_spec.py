"""A two-task KFP v2 pipeline spec whose tasks are a few lines of Python, for testing the spec
runner's contract fast: task A writes an output `data` with metadata and an output parameter,
and records the executor input it was handed; task B takes `data` and records its own. Task A
also has a `lifecycle.preCacheCheck` hook that would leave a marker file, if anything ran it.
"""

from __future__ import annotations

import sys

TASK_CODE = r"""
import json, os, sys
ex = json.loads(sys.argv[1])
print("hello from the task")
if ex["inputs"]["parameterValues"].get("fail") == "yes":
    sys.exit(3)
out = {"artifacts": {}}
for key, listed in ex["outputs"]["artifacts"].items():
    if key == "executor-logs":
        continue
    uri = listed["artifacts"][0]["uri"]
    os.makedirs(uri, exist_ok=True)
    with open(os.path.join(uri, "received.json"), "w") as f:
        json.dump(ex, f)
    out["artifacts"][key] = {"artifacts": [{"metadata": {"flag": True, "n": 3}}]}
for key, p in ex["outputs"].get("parameters", {}).items():
    os.makedirs(os.path.dirname(p["outputFile"]), exist_ok=True)
    open(p["outputFile"], "w").write("7")
os.makedirs(os.path.dirname(ex["outputs"]["outputFile"]), exist_ok=True)
json.dump(out, open(ex["outputs"]["outputFile"], "w"))
"""
DATA = {"instanceSchema": "title: tfx.Examples\ntype: object\n"}
PARAMS = {"fail": {"parameterType": "STRING"}}


def synthetic_spec(marker: str, default_root: str = "/nowhere") -> dict:
    def executor(hook: bool) -> dict:
        container = {"image": "img:1", "command": [sys.executable, "-c", TASK_CODE],
                     "args": ["{{$}}"]}  # fmt: skip
        if hook:
            code = f"open({marker!r}, 'w').write('driver ran')"
            container["lifecycle"] = {"preCacheCheck": {"command": [sys.executable, "-c", code]}}
        return {"container": container}

    fail = {"componentInputParameter": "fail"}
    return {
        "pipelineInfo": {"name": "synthetic"},
        "defaultPipelineRoot": default_root,
        "schemaVersion": "2.1.0",
        "deploymentSpec": {
            "executors": {"A_executor": executor(True), "B_executor": executor(False)}
        },
        "components": {
            "A": {
                "executorLabel": "A_executor",
                "inputDefinitions": {"parameters": PARAMS},
                "outputDefinitions": {
                    "artifacts": {"data": {"artifactType": DATA}},
                    "parameters": {"count": {"parameterType": "NUMBER_INTEGER"}},
                },
            },
            "B": {
                "executorLabel": "B_executor",
                "inputDefinitions": {
                    "artifacts": {"data": {"artifactType": DATA}},
                    "parameters": {"count": {"parameterType": "NUMBER_INTEGER"}},
                },
                "outputDefinitions": {"artifacts": {"result": {"artifactType": DATA}}},
            },
        },
        "root": {
            "inputDefinitions": {
                "parameters": {"fail": {"parameterType": "STRING", "defaultValue": "no"}}
            },
            "dag": {
                "tasks": {
                    "A": {
                        "componentRef": {"name": "A"},
                        "taskInfo": {"name": "A"},
                        "cachingOptions": {"enableCache": True},
                        "inputs": {"parameters": {"fail": fail}},
                    },
                    "B": {
                        "componentRef": {"name": "B"},
                        "taskInfo": {"name": "B"},
                        "cachingOptions": {"enableCache": True},
                        "inputs": {
                            "artifacts": {
                                "data": {
                                    "taskOutputArtifact": {
                                        "producerTask": "A",
                                        "outputArtifactKey": "data",
                                    }
                                }
                            },
                            "parameters": {
                                "count": {
                                    "taskOutputParameter": {
                                        "producerTask": "A",
                                        "outputParameterKey": "count",
                                    }
                                }
                            },
                        },
                    },
                }  # fmt: skip
            },
        },
    }
