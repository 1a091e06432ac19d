"""An emulated AWS account on loopback for tests: moto's server mode, started by the test.

Everything that talks to it (boto3 here, Terraform's AWS provider, DVC, s3fs in a subprocess)
gets the emulator's endpoint and the dummy credentials below through `Emulator.environ()`.
The credentials are placeholders the emulator accepts, not secrets; they live only here.
"""

from __future__ import annotations

import os
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3  # pants: no-infer-dep (moto[server] requires it)
import botocore.session  # pants: no-infer-dep (boto3 requires it)
from botocore.credentials import EnvProvider  # pants: no-infer-dep (boto3 requires it)
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
# moto's default account.
ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    # Set for a role's short-lived credentials (Emulator.assume_role).
    session_token: str = ""


# What moto accepts from anyone; not a secret.
DUMMY_CREDENTIALS = Credentials(access_key_id="testing", secret_access_key="testing")


class EmulatorNotRunning(RuntimeError):
    """Nothing answers at the emulator's endpoint; the message names it."""


def check_reachable(endpoint: str, timeout: float = 5) -> None:
    """Raise EmulatorNotRunning, naming `endpoint`, unless an AWS API emulator answers there."""
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=timeout) as answer:
            answer.read(1)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise EmulatorNotRunning(
            f"no AWS API emulator answers at {endpoint} ({reason}): start one "
            f"(moto.server.ThreadedMotoServer, or `moto_server -p <port>`) before pointing "
            f"Terraform or an AWS SDK at it"
        ) from None


@dataclass(frozen=True)
class Emulator:
    endpoint: str

    def environ(
        self,
        base: Mapping[str, str] | None = None,
        credentials: Credentials = DUMMY_CREDENTIALS,
    ) -> dict[str, str]:
        """`base` (default: this process's environment) with every AWS SDK, the AWS CLI and
        DVC pointed at the emulator, with `credentials` (default: the dummy ones)."""
        environ = {
            name: value
            for name, value in (os.environ if base is None else base).items()
            if not name.startswith("AWS_")
        }
        environ.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                # botocore's names for the credential variables.
                EnvProvider.ACCESS_KEY: credentials.access_key_id,
                EnvProvider.SECRET_KEY: credentials.secret_access_key,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )
        if credentials.session_token:
            # botocore's name for it (the last of EnvProvider.TOKENS, AWS_SESSION_TOKEN).
            environ[EnvProvider.TOKENS[-1]] = credentials.session_token
        return environ

    def assume_role(self, role_arn: str, session_name: str = "rehearsal") -> Credentials:
        """A role's short-lived credentials from the emulator's STS, as ECS hands a task its
        task role's. (moto issues them; it does not enforce IAM policies on their calls.)"""
        issued = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)
        return Credentials(
            issued["Credentials"]["AccessKeyId"],
            issued["Credentials"]["SecretAccessKey"],
            issued["Credentials"]["SessionToken"],
        )

    def client(self, service: str) -> Any:
        session = botocore.session.get_session()
        session.set_credentials(
            DUMMY_CREDENTIALS.access_key_id, DUMMY_CREDENTIALS.secret_access_key
        )
        return boto3.Session(botocore_session=session).client(
            service, endpoint_url=self.endpoint, region_name=REGION
        )


@contextmanager
def running_emulator(environ: Mapping[str, str] | None = None) -> Iterator[Emulator]:
    """A moto server on a free loopback port, its account emptied first.

    `environ` sets moto's own settings, which it reads from this process's environment while
    it serves (e.g. MOTO_ECS_SERVICE_RUNNING: how many tasks an ECS service reports running,
    since moto runs no containers); they are restored afterwards.
    """
    saved = {name: os.environ.get(name) for name in environ or {}}
    os.environ.update(environ or {})
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        check_reachable(endpoint)
        # moto's state is per process, not per server: start from an empty account.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
        yield Emulator(endpoint)
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def main() -> None:
    """Serve an emulator until SIGTERM or SIGINT, for a test in another resolve (which cannot
    import moto): the first line of stdout is its endpoint."""
    stop = {signal.SIGTERM, signal.SIGINT}
    # Blocked before the server's threads start, so that sigwait below receives them.
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    with running_emulator() as emulator:
        print(emulator.endpoint, flush=True)
        signal.sigwait(stop)


if __name__ == "__main__":
    main()
