from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the checkout; tests that take it skip only where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("needs ../shared/data beside the checkout")
    return SHARED_DATA
