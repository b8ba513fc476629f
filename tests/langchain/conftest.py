import pytest

from tests.langchain.lc_support import seeded_router


@pytest.fixture
def lc_router():
    """A router over a store seeded with hard maths (only 'strong' succeeds) and small talk (both do)."""
    return seeded_router()
