# BUILD-file macros and shared values, read before every BUILD file ([GLOBAL]
# build_file_prelude_globs).
# This file is not Python that Pants builds: `pex_binary` is a BUILD symbol.

# What a service's or a lib's targets may depend on outside their own directory (the
# `__dependencies_rules__` of their BUILD files): libs, third-party code, and the conftest.py
# that every test loads.
SHARED_DEPENDENCIES = ("//libs/**", "//3rdparty/**", "//conftest.py")

# The artifacts dvc.yaml's stages run: what the main job (//:main) and the tests that run the
# pipeline have Pants package; a stage whose artifact is missing here fails in each of them.
# (A tuple: Pants needs a prelude's values hashable.)
PIPELINE_ARTIFACTS = (
    "services/ingest:ingest",
    "services/feature:feature",
    "services/train:train",
)


def service_artifact(name, entry_point, **kwargs):
    """A service's built artifact: the one PEX that DVC stages, Airflow tasks, container images
    and integration tests all run (docs/adr/0011-services-run-as-built-artifacts.md).

    Packed layout: its wheels stay separate zip files, so a change to the service's own code
    re-packs only that code, not torch (docs/benchmarks.md). Venv mode: BentoML and torchrun
    start worker processes with the running interpreter, which needs a real venv."""
    pex_binary(  # noqa: F821
        name=name,
        entry_point=entry_point,
        layout="packed",
        execution_mode="venv",
        **kwargs,
    )


def machine_tests(**kwargs):
    """Tests that run ./pants, pip or pyenv, or copy the working tree (tests/build/repo_copy.py):
    they get what those read from the machine. Only these tests' cache keys hold HOME and the
    checkout path; every other test's result is shared between checkouts (README, "Shared build
    cache")."""
    python_tests(  # noqa: F821
        extra_env_vars=[
            "HOME",
            "PYENV_ROOT",
            "PIP_FIND_LINKS",
            "PIP_CONFIG_FILE",
            "WHEELS_DIR",
            "PANTS_BOOTSTRAP_CACHE",
            "PLATFORM_REPO_ROOT",
        ],
        **kwargs,
    )
