"""Train service: fits models on the training table."""

from train.cpu_numerics import pin

# Before anything imports torch or numpy: see cpu_numerics.
pin()
