"""Loopback networking helpers shared by the services and the tests."""
