"""A free TCP port on loopback, for a server started next (through `start_server`, which starts
it again when the port was taken meanwhile), and whether something listens on one."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback TCP port nothing listens on now. The probe socket is closed before this
    returns, so another process can take the port before the caller binds it: use it at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accepts_connections(port: int, timeout: float = 1) -> bool:
    """Whether something listens on the loopback TCP port `port` now."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
    except OSError:
        return False
    return True
