"""What every test in the repository loads: Pants makes each test depend on the conftest.py files
above it, and this is the one above them all.

Hypothesis' profiles besides its built-in ones. pants.toml's [pytest] args load the built-in
"ci" for every run: the same examples every time, so a result is a function of the code.
"explore" is "ci" with new random examples on every run (no time limit per example either, and
a failure prints the blob that replays it): the scheduled exploration runs it (.ci/explore), and
so can anyone who wants a property-based test to look further."""

# Hypothesis comes with pytest itself, in every resolve ([pytest] requirements in pants.toml).
from hypothesis import settings  # pants: no-infer-dep

settings.register_profile("explore", parent=settings.get_profile("ci"), derandomize=False)
