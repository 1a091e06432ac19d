"""Data-parallel training under torch.distributed: one process per device, started by `torchrun`
(or `train fit --nproc-per-node N`, which runs torchrun itself).

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT;
without them the process is a world of one and nothing is initialised. The backend is NCCL
when the process has a GPU and gloo on the CPU.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.distributed import run as torchrun
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

from train.device import select_device
from train.errors import TrainError, WorkersFailed


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    local_rank: int
    device: torch.device
    backend: str | None
    # The processes on this node, which share its cores.
    local_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


class WorldError(TrainError):
    """torchrun's variables do not describe a world; the message names the one that is wrong."""


def _count(environ: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    text = environ.get(name, str(default))
    try:
        value = int(text)
    except ValueError:
        raise WorldError(f"{name}={text!r} is not a whole number") from None
    if value < minimum:
        raise WorldError(f"{name}={value} must be at least {minimum}")
    return value


def place_in_world(environ: Mapping[str, str]) -> tuple[int, int, int, int]:
    """(rank, size, local rank, local size) from torchrun's variables, each checked."""
    size = _count(environ, "WORLD_SIZE", 1, minimum=1)
    rank = _count(environ, "RANK", 0, minimum=0)
    local_size = _count(environ, "LOCAL_WORLD_SIZE", 1, minimum=1)
    local_rank = _count(environ, "LOCAL_RANK", 0, minimum=0)
    if rank >= size:
        raise WorldError(f"RANK={rank} is not below WORLD_SIZE={size}")
    if local_size > size:
        raise WorldError(f"LOCAL_WORLD_SIZE={local_size} is above WORLD_SIZE={size}")
    if local_rank >= local_size:
        raise WorldError(f"LOCAL_RANK={local_rank} is not below LOCAL_WORLD_SIZE={local_size}")
    return rank, size, local_rank, local_size


def join_world(environ: Mapping[str, str] = os.environ) -> World:
    """This process's place in the world torchrun started, initialising the process group
    (WorldError names a variable that does not fit)."""
    rank, size, local_rank, local_size = place_in_world(environ)
    device = select_device(local_rank)
    if size == 1:
        return World(0, 1, 0, device, None)
    backend = backend_for(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return World(rank, size, local_rank, device, backend, local_size)


def leave_world(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def launch_local(
    nproc: int,
    module: str,
    args: Sequence[str],
    nnodes: int = 1,
    node_rank: int = 0,
    master_addr: str | None = None,
) -> None:
    """Run `python -m <module> <args>` in `nproc` processes per node through torchrun and wait;
    raises WorkersFailed if any worker fails. A single node rendezvouses on loopback, through a
    store that binds a port of the system's choosing and tells the workers which: a port picked
    beforehand could be taken before torchrun binds it."""
    if nnodes == 1:
        rendezvous = ["--standalone", "--local-addr=127.0.0.1"]
    else:
        rendezvous = [f"--master-addr={master_addr}", "--master-port=29500"]
    saved = dict(os.environ)
    # The workers are new interpreters and inherit this environment: they need this one's
    # import path (a PEX or a test runner puts first-party code on sys.path, not in
    # site-packages) and nothing before it (`python -m` would put the working directory first,
    # where a checkout's `train/` would stand in for the artifact's), and on one node gloo must
    # use loopback (it binds to whatever interface the host name resolves to, which a sandbox
    # may lack).
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    os.environ["PYTHONSAFEPATH"] = "1"
    if nnodes == 1:
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    try:
        # torchrun's logs and error files go to a directory of ours: left to itself it makes a new
        # torchelastic_* directory in the system's temp directory per launch and never removes it.
        with tempfile.TemporaryDirectory(prefix="torchrun-") as logs:
            torchrun.run(  # type: ignore[no-untyped-call]
                torchrun.get_args_parser().parse_args(
                    [
                        f"--log-dir={logs}",
                        f"--nproc_per_node={nproc}",
                        f"--nnodes={nnodes}",
                        f"--node_rank={node_rank}",
                        *rendezvous,
                        "--module",
                        module,
                        *args,
                    ]
                )
            )
    except ChildFailedError as error:
        raise WorkersFailed(error.format_msg()) from error  # type: ignore[no-untyped-call]
    finally:
        os.environ.clear()
        os.environ.update(saved)
