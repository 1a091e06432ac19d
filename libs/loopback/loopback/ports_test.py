import socket

import pytest

from loopback.ports import accepts_connections, free_port


def test_a_free_port_can_be_listened_on_at_once() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass


def test_nothing_listens_on_a_free_port() -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", free_port()), timeout=5).close()


def test_accepts_connections_only_while_something_listens() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = int(listening.getsockname()[1])
        assert accepts_connections(port)
    assert not accepts_connections(port)
