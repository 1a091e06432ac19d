"""The monorepo's CI cases, each in a fresh clone (of HEAD, or the commit asked for) with empty
Pants caches of its own.

"Cold" means what a new CI machine sees: every cache starts empty, per clone: Pants' store and
named caches, the launcher's bootstrap, and pex's own `~/.pex`. pex finds that one through the
password database, not `$HOME` or a Pants option, so each command runs in a private mount
namespace with an empty directory bound over it (which needs root, as CI has). The cases:

- (a) cold full: `./pants --no-pantsd test ::`, and the same restricted to the code that the
  polyrepo layout also has (`services:: libs::`), for a like-for-like comparison;
- (b) warm no-op: the same command again, with and without the daemon;
- (c) a one-line change in one service: `--changed-since=HEAD~1 --changed-dependents=transitive`;
- (d) a one-line change in a shared lib, the same way.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import signal
import statistics
import subprocess
from collections.abc import Sequence
from pathlib import Path

from benchmarks import REPO, timing

SERVICE_FILE = "services/train/train/device.py"
LIB_FILE = "libs/feature_definitions/feature_definitions/calendar.py"
CHANGED_SINCE = ["--changed-since=HEAD~1", "--changed-dependents=transitive", "test"]


PEX_ROOT = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".pex"
# fresh_clone() names each clone's own empty ~/.pex in this variable; timed() binds it.
CLONE_PEX_ROOT = "BENCH_PEX_ROOT"


def with_own_pex_root(command: Sequence[str], pex_root: str) -> list[str]:
    """`command` in a private mount namespace that sees `pex_root` as the user's ~/.pex."""
    if os.geteuid() != 0:
        raise SystemExit("benchmarks/ci needs root: it hides ~/.pex with `unshare -m` to be cold")
    PEX_ROOT.mkdir(exist_ok=True)
    bind = f"mount --bind {shlex.quote(pex_root)} {shlex.quote(str(PEX_ROOT))}"
    return ["unshare", "-m", "--propagation", "private", "bash", "-c", f'{bind} && exec "$@"',
            "bash", *command]  # fmt: skip


def timed(command: Sequence[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall time of `command` in a clone, seeing the clone's own empty ~/.pex."""
    elapsed, _ = timing.timed(with_own_pex_root(command, env[CLONE_PEX_ROOT]), cwd=cwd, env=env)
    print(f"  {elapsed:7.1f}s  {' '.join(command)}", flush=True)
    return elapsed


def stop_pantsd(clone: Path) -> None:
    """Pants 2.17 has no command for it: signal the pid it records under .pids/."""
    for pid_file in clone.glob(".pids/*/pantsd/pid"):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def commit_one_line_change(clone: Path, relative: str) -> None:
    with open(clone / relative, "a") as changed:
        changed.write("\n# a one-line change\n")
    git(clone, "commit", "--quiet", "-am", f"one-line change in {relative}")


def fresh_clone(scratch: Path, name: str, rev: str) -> tuple[Path, dict[str, str]]:
    clone = scratch / name
    git(scratch, "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone))
    git(clone, "checkout", "--quiet", "--detach", rev)
    (scratch / f"{name}-pex-root").mkdir()
    env = {
        **os.environ,
        "PANTS_LOCAL_STORE_DIR": str(scratch / f"{name}-store"),
        "PANTS_NAMED_CACHES_DIR": str(scratch / f"{name}-named-caches"),
        "PANTS_BOOTSTRAP_CACHE": str(scratch / f"{name}-bootstrap"),
        CLONE_PEX_ROOT: str(scratch / f"{name}-pex-root"),
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    }
    return clone, env


def one_run(scratch: Path, rev: str = "HEAD") -> dict[str, float]:
    no_daemon = ["./pants", "--no-pantsd"]
    # Like-for-like with the polyrepo: only the code both layouts have, cold.
    clone, env = fresh_clone(scratch, "code-only", rev)
    timings = {"cold_full_services_and_libs": timed([*no_daemon, "test", "services::", "libs::"],
                                                    clone, env)}  # fmt: skip

    clone, env = fresh_clone(scratch, "full", rev)
    # The first of these bootstraps the clone's empty cache; the median is the warm overhead.
    timings["launcher_overhead"] = statistics.median(
        timed(["./pants"], clone, {**env, "PANTS_BOOTSTRAP_ONLY": "1"}) for _ in range(5)
    )
    timings["cold_full"] = timed([*no_daemon, "test", "::"], clone, env)
    timings["warm_noop_no_daemon"] = timed([*no_daemon, "test", "::"], clone, env)
    # With the daemon, as on a developer's machine: the first run starts it, the second is timed.
    timed(["./pants", "test", "::"], clone, env)
    timings["warm_noop_daemon"] = timed(["./pants", "test", "::"], clone, env)
    stop_pantsd(clone)

    commit_one_line_change(clone, SERVICE_FILE)
    timings["one_service_change"] = timed([*no_daemon, *CHANGED_SINCE], clone, env)
    commit_one_line_change(clone, LIB_FILE)
    timings["lib_change"] = timed([*no_daemon, *CHANGED_SINCE], clone, env)
    return timings
