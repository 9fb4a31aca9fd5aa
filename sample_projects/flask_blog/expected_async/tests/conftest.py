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
    _tmpdir = tempfile.mkdtemp(prefix="flask_blog_")
    atexit.register(shutil.rmtree, _tmpdir, ignore_errors=True)
    os.environ["DATABASE_URL"] = "sqlite:///" + os.path.join(_tmpdir, "blog.sqlite")

from blog import create_app  # noqa: E402
from blog.extensions import async_session, db  # noqa: E402


@pytest.fixture(scope="session")
def app():
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"],
            "POSTS_PER_PAGE": 3,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def clean_tables(app):
    yield
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            await async_session.execute(table.delete())
        await async_session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def seeded(runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    return result
