# The train package pins the numeric libraries' settings when it loads, and warns when numpy
# came first (train/cpu_numerics.py); notebooks_test.py imports numpy before train.metrics.
import train  # noqa: F401
