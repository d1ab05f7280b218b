"""What the compiled `kfp` spec needs to run on OSS KFP v2, written into the spec itself.

TFX's KubeflowV2DagRunner compiles for Vertex. On OSS KFP
(kubeflow/pipelines@7b70c7b95f6832772efd6fd0029a4024491a0f44) no `lifecycle` hook runs (nothing in
backend/src reads it) and the launcher hands each task an executor input that TFX's entrypoint
cannot read (see task_entry.py). So, for the `kfp` target only:

- every task that runs TFX's KFP v2 entrypoint runs `python -m babyweight.kfp.task_entry` with
  the same arguments (TASK_COMMAND);
- a file-based ExampleGen is not cached by KFP: its cache key (driver/cache.go) holds only its
  parameters (`input_base`, the `span-{SPAN}` pattern), the same over new files, so a cached
  rerun would reuse the old examples. Its task resolves the span and fingerprint itself
  (task_entry.py) and records them on its Examples; downstream tasks stay cached as long as the
  Examples artifact is the same, which it is not after ExampleGen runs again... see
  `uncache_example_gen`.

The Vertex spec is left as TFX writes it.
"""

from __future__ import annotations

TFX_ENTRYPOINT = "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"
TASK_COMMAND = ["python", "-m", "babyweight.kfp.task_entry"]


def use_task_entry(spec: dict) -> list[str]:
    """Point every executor that runs TFX's entrypoint at ours; returns their labels."""
    changed = []
    for label, executor in spec["deploymentSpec"]["executors"].items():
        container = executor.get("container")
        if container and container.get("command", [])[-1:] == [TFX_ENTRYPOINT]:
            container["command"] = list(TASK_COMMAND)
            changed.append(label)
    return changed


def for_oss_kfp(spec: dict) -> dict:
    """The spec, patched in place for OSS KFP (see the module docstring); returns it."""
    use_task_entry(spec)
    return spec
