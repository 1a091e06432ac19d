"""Feature definitions computed identically offline (feature service) and online (serve service)."""
