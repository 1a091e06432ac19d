"""The AWS calls the pipeline DAG makes on MWAA with the ecs runner, which the execution role of
infra/modules/mwaa must allow (its `ecs-runner` policy); aws_emulator_test.py checks the policy
Terraform rendered against them, as it checks the CI roles against iac.ci_permissions.

Resources are templates, filled from the settings the test applies the environment with; a
template filled with several values (a task definition per service) stands for each of them.
"""

from __future__ import annotations

from typing import Final

from iac.ci_permissions import UNSCOPED_ACTIONS

# The run's first task reads the revision each stage's task definition names now, which the
# run's stages then run (flight_orchestration.run_parameters); AWS authorizes it on "*" only.
# flight_orchestration.runners.EcsStageOperator, an EcsRunTaskOperator with reattach: a try
# first lists the running tasks it started in the cluster (a retry finds its first try's), then
# runs the stage's task definition handing ECS the roles it names, follows its container's log
# (with the `logs` block), waits for the task to stop and reads how it ended; on_kill stops it.
# (The run's params file goes to the artifacts bucket, which the role's data grant covers.)
ECS_STAGE_CALLS: Final[tuple[tuple[str, str], ...]] = (
    ("ecs:DescribeTaskDefinition", "*"),
    ("ecs:ListTasks", "*"),
    ("ecs:RunTask", "{task_definition}"),
    ("iam:PassRole", "{task_role}"),
    ("logs:GetLogEvents", "{task_log_stream}"),
    ("ecs:DescribeTasks", "{task}"),
    ("ecs:StopTask", "{task}"),
)

# flight_orchestration.runners.SageMakerTrainingStageOperator, with the `sagemaker` block: it
# describes the job's name (a retry's is taken, and a retry describes its earlier tries' jobs to
# reattach to one still in progress), creates the job handing SageMaker its role,
# follows its state and its CloudWatch log, and on_kill stops it.
TRAINING_CALLS: Final[tuple[tuple[str, str], ...]] = (
    ("sagemaker:DescribeTrainingJob", "{training_job}"),
    ("sagemaker:CreateTrainingJob", "{training_job}"),
    ("iam:PassRole", "{training_role}"),
    ("sagemaker:StopTrainingJob", "{training_job}"),
    ("logs:DescribeLogStreams", "{training_log_group}"),
    ("logs:GetLogEvents", "{training_log_stream}"),
)

# ListTasks takes no task ARN: AWS authorizes it on "*", scoped to a cluster by the ecs:cluster
# condition the policy sets.
UNSCOPED_RUNNER_ACTIONS: Final[frozenset[str]] = UNSCOPED_ACTIONS | {"ecs:ListTasks"}
