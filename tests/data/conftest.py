"""Fixtures of the data tests; the tree builders live in ``data_fixtures.py``."""

import pytest
from data_fixtures import chorale_stems, make_cocochorales


@pytest.fixture
def index_dir(tmp_path):
    """A per-test index folder (never the user cache)."""
    return str(tmp_path / "indexes")


@pytest.fixture
def coco_root(tmp_path):
    """Ramp CocoChorales tree: 3 train, 1 valid, 2 test pieces."""
    root = str(tmp_path / "data")
    make_cocochorales(root, {"train": [1, 2, 3], "valid": [192001], "test": [216001, 216002]})
    return root


@pytest.fixture(scope="session")
def chorale_root(tmp_path_factory):
    """Annotated chorale tree (embedded flavour): 3 test pieces of 16 s, built once."""
    root = str(tmp_path_factory.mktemp("chorales"))
    make_cocochorales(root, {"test": [216001, 216002, 216003]}, chorale_stems, annotated=True)
    return root
