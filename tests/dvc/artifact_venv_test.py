"""Running a service's artifact leaves pex's cache as it found it: the venv a PEX builds holds
its own files (hard links or copies, `venv_site_packages_copies` in the root BUILD's
defaults), so the bytecode Python writes as it imports lands in the venv. Through symlinks it
landed in pex's installed wheels, which pex 2.1.137 zips as it finds them into the next packed
PEX: a rebuild then differed from the first build, and DVC re-ran every stage."""

from __future__ import annotations

import subprocess
from pathlib import Path

from loopback.processes import without_pex_variables

INGEST = Path("services.ingest/ingest.pex")


def test_running_an_artifact_writes_no_bytecode_into_pexs_cache(tmp_path: Path) -> None:
    pex_root = tmp_path / "pex_root"
    env = {**without_pex_variables(), "PEX_ROOT": str(pex_root), "PEX_INTERPRETER": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    ran = subprocess.run(
        [str(INGEST / "__main__.py"), "-c", "import attr, fsspec, pandas, sys; print(sys.prefix)"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    venv = Path(ran.stdout.strip())
    assert venv.is_relative_to(pex_root / "venvs"), venv
    (site_packages,) = venv.glob("lib/python*/site-packages")
    pandas = site_packages / "pandas"
    assert pandas.is_dir() and not pandas.is_symlink(), f"{pandas} links to pex's cache"
    assert list((pandas / "__pycache__").glob("*.pyc")), "the import wrote no bytecode at all"
    cached = sorted(
        str(path.relative_to(pex_root)) for path in pex_root.glob("installed_wheels/**/__pycache__")
    )
    assert cached == [], f"bytecode in pex's installed wheels: {cached[:5]}"
