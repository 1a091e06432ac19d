"""Serve service: answers HTTP requests about scheduled flights."""
