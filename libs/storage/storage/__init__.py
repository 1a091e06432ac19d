"""Storage helpers shared by the services."""
