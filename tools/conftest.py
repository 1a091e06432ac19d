from pathlib import Path

import pytest

from tools.fake_checkout import make_checkout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout whose one artifact is fresh (tools/fake_checkout.py)."""
    make_checkout(tmp_path)
    return tmp_path
