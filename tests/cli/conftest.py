"""The command-line tests run their tiny models on one thread."""

import pytest


@pytest.fixture(autouse=True, scope="module")
def one_thread(single_thread):
    """Every module here takes :func:`single_thread` from ``tests/conftest.py``."""
