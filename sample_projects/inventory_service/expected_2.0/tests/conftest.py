import atexit
import os
import shutil
import sys
import tempfile

import pytest

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

if not os.environ.get("DATABASE_URL"):
    _tmpdir = tempfile.mkdtemp(prefix="inventory_")
    atexit.register(shutil.rmtree, _tmpdir, ignore_errors=True)
    os.environ["DATABASE_URL"] = "sqlite:///" + os.path.join(_tmpdir, "inventory.sqlite")

from inventory import db  # noqa: E402
from inventory.models import Product  # noqa: E402
from inventory.services import demo  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def database():
    db.drop_db()
    db.init_db()
    yield
    db.Session.remove()
    db.drop_db()
    db.engine.dispose()


@pytest.fixture(autouse=True)
def clean_tables(database):
    yield
    db.Session.remove()
    with db.engine.begin() as conn:
        # products reference each other (substitutes): break the cycle first
        conn.execute(Product.__table__.update().values(substitute_id=None))
        for table in reversed(db.Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def seeded():
    return demo.seed()


@pytest.fixture
def big_catalog():
    return demo.seed(extra_products=250)
