import atexit
import os
import shutil
import sys
import tempfile

import pytest
import pytest_asyncio

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


@pytest_asyncio.fixture(scope="session", autouse=True, loop_scope="session")
async def database():
    await db.drop_db()
    await db.init_db()
    yield
    await db.Session.remove()
    await db.drop_db()
    await db.engine.dispose()


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def clean_tables(database):
    yield
    await db.Session.remove()
    async with db.engine.begin() as conn:
        # products reference each other (substitutes): break the cycle first
        await conn.execute(Product.__table__.update().values(substitute_id=None))
        for table in reversed(db.Base.metadata.sorted_tables):
            await conn.execute(table.delete())


@pytest_asyncio.fixture(loop_scope="session")
async def seeded():
    return await demo.seed()


@pytest_asyncio.fixture(loop_scope="session")
async def big_catalog():
    return await demo.seed(extra_products=250)
