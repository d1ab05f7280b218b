"""`babyweight kfp`: the `tfx pipeline` verbs against a KFP v2 endpoint, with the kfp 2 SDK client.

TFX 1.16's `tfx pipeline create --engine kubeflow` is broken (its KFP v1 runner is gone); this
command does the same work, and takes the same flags, so a `tfx` command line works with
`tfx pipeline` (or `tfx run`) changed to `babyweight kfp`:

    babyweight kfp create  --engine kubeflow --pipeline_path kubeflow_runner.py --endpoint URL
    babyweight kfp create  --endpoint URL [--spec babyweight_kfp.yaml] [--name babyweight]
    babyweight kfp update  --endpoint URL [--spec ...] [--version NAME]    # a new pipeline version
    babyweight kfp compile --pipeline_path kubeflow_runner.py              # the spec files only
    babyweight kfp run     --endpoint URL [--experiment babyweight] [--pipeline-root gs://...]
                           [--runtime_parameter 'train_args={"num_steps": 3000}' ...]
    babyweight kfp list    --endpoint URL
    babyweight kfp delete  --endpoint URL [--name babyweight]              # versions, then pipeline
    babyweight kfp status  --endpoint URL RUN_ID                           # state of each task
    babyweight kfp runs    --endpoint URL [--experiment babyweight]

`--pipeline_path` (as tfx spells it; also `--spec`) is the pipeline's Python file, which is run as
`python FILE --target kfp` (settings from the environment, as the tfx CLI runs it) to compile
babyweight_kfp.json and .yaml in the working directory, or an already compiled spec. What is
uploaded is the bare pipeline spec YAML, with the pipeline root and the parameters' defaults in
it: a run started from any directory, or from the KFP UI, gets them.

The endpoint, namespace (multi-user Kubeflow) and bearer token may come from the environment:
KFP_ENDPOINT, KFP_NAMESPACE, KFP_TOKEN. Errors (an endpoint that is not KFP, a 4xx) end in one
line that says what failed and why, with exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from babyweight import gcs_paths
from babyweight.errors import BabyweightError, ExitCode
from babyweight.kfp.spec import (
    SPEC_FILE,
    SpecFileError,
    add_runtime_parameter_argument,
    ir_path,
    is_yaml,
    load_spec,
    pipeline_root,
    runtime_parameters,
)
from babyweight.layout import PIPELINE_NAME

import yaml

DEFAULT_SPEC = str(ir_path(SPEC_FILE.format(target="kfp")))  # babyweight_kfp.yaml
API = "/apis/v2beta1"
ENV_ENDPOINT, ENV_NAMESPACE, ENV_TOKEN = "KFP_ENDPOINT", "KFP_NAMESPACE", "KFP_TOKEN"
FAILED_STATES = {"FAILED", "CANCELED"}
ENGINES = ("kubeflow", "kfp")  # `--engine` as the tfx CLI spells it; Vertex has the tfx CLI itself


class CliError(BabyweightError, RuntimeError):
    """A failure to report in one line (no stack trace)."""

    code = ExitCode.FAILED


def compile_pipeline_file(path: Path) -> Path:
    """Run the pipeline's Python file as `tfx pipeline create` does (settings from the
    environment) with `--target kfp`; return the pipeline spec YAML it wrote here."""
    output = Path.cwd() / SPEC_FILE.format(target="kfp")
    if not path.is_file():
        raise CliError(f"--pipeline_path {path}: no such file")
    print(f"compiling {path} for KFP (python {path.name} --target kfp) ...", flush=True)
    result = subprocess.run(
        [sys.executable, str(path), "--target", "kfp", "--output", str(output)],
        capture_output=True,
        text=True,
    )
    print(result.stdout, end="")
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        why = lines[-1] if lines else f"exit status {result.returncode}"
        raise CliError(f"--pipeline_path {path}: compiling failed: {why}")
    return ir_path(output)


def spec_file(path: Path) -> Path:
    """The compiled spec to upload: the file itself, or what a pipeline .py file compiles to."""
    return compile_pipeline_file(path) if Path(path).suffix == ".py" else Path(path)


def read_spec(path: Path) -> tuple[dict, dict]:
    """(pipeline spec, runtime config) of a spec that OSS KFP can run."""
    try:
        spec, runtime_config = load_spec(path)
    except SpecFileError as e:
        hint = ""
        if not Path(path).exists():
            hint = (
                "; compile it first with `python kubeflow_runner.py --target kfp`, "
                "or pass --pipeline_path kubeflow_runner.py"
            )
        raise CliError(f"--pipeline_path {e}{hint}") from None
    resolvers = [
        name
        for name, executor in spec.get("deploymentSpec", {}).get("executors", {}).items()
        if "resolver" in executor
    ]
    if resolvers:
        raise CliError(
            f"--spec {path}: has resolver nodes {sorted(resolvers)}, which OSS KFP cannot run; "
            "compile with `kubeflow_runner.py --target kfp`"
        )
    return spec, runtime_config


class Endpoint:
    """A kfp.Client for one endpoint, with errors turned into CliError."""

    def __init__(self, url: str, namespace: str | None, token: str | None):
        if not url:
            raise CliError(f"no KFP endpoint: pass --endpoint URL or set {ENV_ENDPOINT}")
        if not url.startswith(("http://", "https://")):
            raise CliError(f"--endpoint {url!r}: must start with http:// or https://")
        self.url = url.rstrip("/")
        self.namespace = namespace or None
        self.token = token or None
        self._check_reachable()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "only works with KFP 2.0.0-beta.2+"
            import kfp

            self.client = kfp.Client(
                host=self.url, namespace=self.namespace or "kubeflow", existing_token=self.token
            )

    def _check_reachable(self) -> None:
        """One quick request first: kfp.Client would retry a dead endpoint for half a minute."""
        request = urllib.request.Request(f"{self.url}{API}/healthz")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=15):
                pass
        except urllib.error.HTTPError as e:
            hint = "is it the KFP API address (the ml-pipeline-ui service or its port-forward)?"
            if e.code in (401, 403):
                hint = f"set a valid token in {ENV_TOKEN}"
            raise CliError(
                f"--endpoint {self.url}: GET {API}/healthz answered {e.code} {e.reason}; {hint}"
            ) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise CliError(f"--endpoint {self.url}: cannot connect ({reason})") from None

    def call(self, what: str, fn, *args, **kwargs):
        """Run one client call; a 4xx/5xx or a dropped connection becomes a one-line CliError."""
        import kfp_server_api
        import urllib3

        try:
            return fn(*args, **kwargs)
        except kfp_server_api.ApiException as e:
            raise CliError(
                f"{what}: KFP answered {e.status} {e.reason}: {_message(e.body)}"
            ) from None
        except urllib3.exceptions.HTTPError as e:
            raise CliError(f"{what}: no answer from {self.url} ({e})") from None

    def pipeline_id(self, name: str) -> str:
        flt = json.dumps(
            {"predicates": [{"operation": "EQUALS", "key": "display_name", "stringValue": name}]}
        )
        found = self.call(
            f"find pipeline {name!r}",
            self.client.list_pipelines,
            filter=flt,
            namespace=self.namespace,
            page_size=2,
        )
        pipelines = found.pipelines or []
        if not pipelines:
            raise CliError(f"no pipeline named {name!r} at {self.url}; create it first (create)")
        if len(pipelines) > 1:
            raise CliError(f"{len(pipelines)} pipelines are named {name!r} at {self.url}")
        return pipelines[0].pipeline_id

    def latest_version(self, pipeline_id: str, name: str):
        versions = self.call(
            f"list versions of {name!r}",
            self.client.list_pipeline_versions,
            pipeline_id=pipeline_id,
            sort_by="created_at desc",
            page_size=1,
        ).pipeline_versions
        if not versions:
            raise CliError(f"pipeline {name!r} has no version to run; upload one (update)")
        return versions[0]


def _message(body) -> str:
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return str(body or "").strip()[:300] or "(no message)"
    if isinstance(data, dict):
        for key in ("message", "error_message", "error"):
            if data.get(key):
                return str(data[key])
    return str(data)[:300]


def checked_root(root: str | None, where: str) -> str | None:
    """The root, unless TF 2.16 in the image cannot write it (CliError naming what works)."""
    problem = gcs_paths.path_problem(root) if root else None
    if problem:
        raise CliError(f"{where} {root!r}: {problem}")
    return root


def upload_file(path: Path, root: str | None = None) -> Path:
    """The bare pipeline spec YAML to upload: the compiled YAML, or the one written from a
    PipelineJob JSON, with `root` (--pipeline-root) as its defaultPipelineRoot when given.
    The KFP backend itself never reads defaultPipelineRoot; `run` reads it and sends it."""
    spec, runtime_config = read_spec(path)
    given = root
    root = checked_root(root or pipeline_root(spec, runtime_config), "pipeline root")
    if not root:
        print(
            f"note: {path} names no pipeline root; `run` will need --pipeline-root",
            file=sys.stderr,
        )
    if is_yaml(path) and not given:
        return Path(path)
    folder = Path(tempfile.mkdtemp(prefix="kfp-upload-"))
    upload = folder / ir_path(Path(path).name)
    spec = {**spec, "defaultPipelineRoot": root} if root else spec
    upload.write_text(yaml.safe_dump(spec, sort_keys=True))
    return upload


def _quiet(fn, *args, **kwargs):
    """kfp.Client prints a link for each upload and run; we print our own line."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def cmd_compile(_endpoint, args) -> int:
    if Path(args.spec).suffix != ".py":
        raise CliError(f"--pipeline_path {args.spec}: compile needs the pipeline's Python file")
    compile_pipeline_file(Path(args.spec))
    return 0


def cmd_create(ep: Endpoint, args) -> int:
    source = spec_file(args.spec)
    upload = upload_file(source, args.pipeline_root)
    pipeline = ep.call(
        f"upload pipeline {args.name!r}",
        _quiet,
        ep.client.upload_pipeline,
        str(upload),
        pipeline_name=args.name,
        description=args.description,
        namespace=ep.namespace,
    )
    print(f"pipeline {args.name!r} created from {source}: id {pipeline.pipeline_id}")
    print(f"  {ep.url}/#/pipelines/details/{pipeline.pipeline_id}")
    return 0


def cmd_update(ep: Endpoint, args) -> int:
    upload = upload_file(spec_file(args.spec), args.pipeline_root)
    pipeline_id = ep.pipeline_id(args.name)
    version_name = args.version or time.strftime(f"{args.name}-%Y%m%d-%H%M%S")
    version = ep.call(
        f"upload version {version_name!r} of {args.name!r}",
        _quiet,
        ep.client.upload_pipeline_version,
        str(upload),
        pipeline_version_name=version_name,
        pipeline_id=pipeline_id,
        description=args.description,
    )
    print(f"pipeline {args.name!r} updated: version {version_name!r}")
    print(f"  id {version.pipeline_version_id}")
    return 0


def run_root(ep: Endpoint, pipeline_id: str, version) -> str:
    """The version's own defaultPipelineRoot, which the KFP backend does not read
    (kubeflow/pipelines@7b70c7b9 backend/src/v2/driver/root_dag.go: the run's root, else the
    cluster default minio://mlpipeline/v2/artifacts), so `run` sends it itself."""
    full = ep.call(
        f"get version {version.display_name!r}",
        ep.client.get_pipeline_version,
        pipeline_id=pipeline_id,
        pipeline_version_id=version.pipeline_version_id,
    )
    root = (full.pipeline_spec or {}).get("defaultPipelineRoot")
    if not root:
        raise CliError(
            f"version {version.display_name!r} names no pipeline root: KFP would use the "
            "cluster default minio://mlpipeline/v2/artifacts, which TF 2.16 in the image cannot "
            "write; pass --pipeline-root gs://BUCKET/PATH"
        )
    return checked_root(root, f"version {version.display_name!r}'s pipeline root")


def cmd_run(ep: Endpoint, args) -> int:
    try:
        parameters = runtime_parameters(args.runtime_parameter)
    except SpecFileError as e:
        raise CliError(str(e)) from None
    pipeline_id = ep.pipeline_id(args.name)
    version = ep.latest_version(pipeline_id, args.name)
    root = checked_root(args.pipeline_root, "--pipeline-root") or run_root(ep, pipeline_id, version)
    experiment = ep.call(
        f"create experiment {args.experiment!r}",
        _quiet,
        ep.client.create_experiment,
        name=args.experiment,
        namespace=ep.namespace,
    )
    run_name = args.run_name or time.strftime(f"{args.name}-%Y%m%d-%H%M%S")
    run = ep.call(
        f"create run of {args.name!r}",
        _quiet,
        ep.client.run_pipeline,
        experiment_id=experiment.experiment_id,
        job_name=run_name,
        pipeline_id=pipeline_id,
        version_id=version.pipeline_version_id,
        params=parameters,
        pipeline_root=root,  # always sent: the backend never reads defaultPipelineRoot
        service_account=args.service_account,
    )
    print(f"run {run_name!r} created: id {run.run_id} (version {version.display_name!r})")
    given = ", ".join(f"{k}={v}" for k, v in parameters.items()) or "the defaults"
    print(f"  root: {root}; parameters: {given}")
    print(f"  {ep.url}/#/runs/details/{run.run_id}")
    print(f"  babyweight kfp status --endpoint {ep.url} {run.run_id}")
    return 0


def cmd_list(ep: Endpoint, args) -> int:
    found = ep.call(
        "list pipelines", ep.client.list_pipelines, namespace=ep.namespace, page_size=100
    )
    pipelines = found.pipelines or []
    if not pipelines:
        print(f"no pipelines at {ep.url}")
    for p in pipelines:
        print(f"{p.display_name:<30} {p.pipeline_id}  created {p.created_at}")
    return 0


def cmd_delete(ep: Endpoint, args) -> int:
    pipeline_id = ep.pipeline_id(args.name)
    # KFP 2 deletes only an empty pipeline: its versions go first, a page at a time.
    for _ in range(100):
        versions = ep.call(
            f"list versions of {args.name!r}",
            ep.client.list_pipeline_versions,
            pipeline_id=pipeline_id,
            page_size=100,
        ).pipeline_versions
        if not versions:
            break
        for v in versions:
            ep.call(
                f"delete version {v.display_name!r}",
                ep.client.delete_pipeline_version,
                pipeline_id=pipeline_id,
                pipeline_version_id=v.pipeline_version_id,
            )
    ep.call(f"delete pipeline {args.name!r}", ep.client.delete_pipeline, pipeline_id)
    print(f"pipeline {args.name!r} deleted (id {pipeline_id})")
    return 0


def cmd_status(ep: Endpoint, args) -> int:
    if not args.run_id:
        raise CliError("which run? pass RUN_ID (or --run_id RUN_ID)")
    run = ep.call(f"get run {args.run_id}", ep.client.get_run, args.run_id)
    print(f"run {run.display_name!r} ({run.run_id}): {run.state}")
    if run.error and getattr(run.error, "message", None):
        print(f"  error: {run.error.message}")
    details = run.run_details.task_details if run.run_details else None
    for task in sorted(details or [], key=lambda t: (str(t.create_time), t.display_name or "")):
        print(f"  {task.display_name or task.task_id:<32} {task.state}")
    return 1 if run.state in FAILED_STATES else 0


def cmd_runs(ep: Endpoint, args) -> int:
    kwargs = {"namespace": ep.namespace, "page_size": 20, "sort_by": "created_at desc"}
    if args.experiment:
        flt = json.dumps(
            {
                "predicates": [
                    {"operation": "EQUALS", "key": "display_name", "stringValue": args.experiment}
                ]
            }
        )
        experiments = ep.call(
            "find experiment",
            ep.client.list_experiments,
            filter=flt,
            namespace=ep.namespace,
        ).experiments
        if not experiments:
            raise CliError(f"no experiment named {args.experiment!r} at {ep.url}")
        kwargs["experiment_id"] = experiments[0].experiment_id
    runs = ep.call("list runs", ep.client.list_runs, **kwargs).runs or []
    if not runs:
        print("no runs")
    for r in runs:
        print(f"{r.display_name:<36} {r.run_id}  {r.state}  created {r.created_at}")
    return 0


COMMANDS = {
    "compile": (cmd_compile, "compile the pipeline's Python file for KFP (no endpoint needed)"),
    "create": (cmd_create, "upload the spec (compiled first from a .py) as a new pipeline"),
    "update": (cmd_update, "upload the spec (compiled first from a .py) as a new version"),
    "run": (cmd_run, "start a run of the pipeline's newest version"),
    "list": (cmd_list, "list the pipelines at the endpoint"),
    "delete": (cmd_delete, "delete the pipeline and all its versions"),
    "status": (cmd_status, "state of a run and of each of its tasks"),
    "runs": (cmd_runs, "list recent runs"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="babyweight kfp",
        description="The tfx pipeline verbs against a KFP v2 endpoint; tfx's flag spellings work.",
    )
    common = _common_flags()
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        _add_command_flags(p, name)
    return parser


def _common_flags() -> argparse.ArgumentParser:
    """The flags every verb takes (a parent parser)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--endpoint",
        default=os.environ.get(ENV_ENDPOINT),
        help=f"KFP API address, e.g. http://localhost:8080 [{ENV_ENDPOINT}]",
    )
    common.add_argument(
        "--namespace",
        default=os.environ.get(ENV_NAMESPACE),
        help=f"Kubernetes namespace of a multi-user Kubeflow [{ENV_NAMESPACE}]",
    )
    common.add_argument(
        "--name",
        "--pipeline_name",
        "--pipeline-name",
        dest="name",
        default=PIPELINE_NAME,
        help="pipeline name (default %(default)s)",
    )
    common.add_argument(
        "--engine",
        default="kubeflow",
        help="as the tfx CLI takes it: kubeflow (the only one here; Vertex: the tfx CLI)",
    )
    return common


def _add_command_flags(p: argparse.ArgumentParser, name: str) -> None:
    """The flags of verb `name` beyond the common ones."""
    if name in ("compile", "create", "update"):
        p.add_argument(
            "--pipeline_path",
            "--pipeline-path",
            "--spec",
            dest="spec",
            metavar="FILE",
            type=Path,
            default=Path("kubeflow_runner.py" if name == "compile" else DEFAULT_SPEC),
            help="the pipeline's Python file (compiled first), or a compiled spec "
            "(YAML or PipelineJob JSON); default %(default)s",
        )
    if name in ("create", "update"):
        p.add_argument("--description", help="shown in the KFP UI")
    if name == "update":
        p.add_argument("--version", help="version name (default NAME-<time>)")
    if name in ("run", "runs"):
        p.add_argument("--experiment", default=PIPELINE_NAME if name == "run" else None)
    if name in ("create", "update", "run"):
        p.add_argument(
            "--pipeline-root",
            help="gs:// artifact root; sent with every run (default: the uploaded "
            "version's defaultPipelineRoot, which the KFP backend itself ignores)",
        )
    if name == "run":
        p.add_argument("--run-name", help="default NAME-<time>")
        add_runtime_parameter_argument(
            p, "a pipeline parameter for this run (repeatable); the others keep defaults"
        )
        p.add_argument("--service-account", help="Kubernetes service account of the run")
    if name == "status":
        p.add_argument("run_id", nargs="?")
        p.add_argument("--run_id", "--run-id", dest="run_id_flag", help="as tfx spells it")


def parse_args(argv=None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if args.command == "status":
        args.run_id = args.run_id or args.run_id_flag
    return args


def main(argv=None) -> int:
    """The verb's exit status; a CliError goes to babyweight/cli.py, one line and exit 1."""
    args = parse_args(argv)
    if args.engine not in ENGINES:
        hint = "; for Vertex, the stock tfx CLI works" if args.engine == "vertex" else ""
        raise CliError(f"--engine {args.engine!r}: this command drives KFP (kubeflow){hint}")
    if args.command == "compile":
        return cmd_compile(None, args)
    endpoint = Endpoint(args.endpoint, args.namespace, os.environ.get(ENV_TOKEN))
    return COMMANDS[args.command][0](endpoint, args)


if __name__ == "__main__":
    from babyweight import cli

    sys.exit(cli.run("kfp", sys.argv[1:]))
