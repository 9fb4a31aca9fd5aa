import atexit
import os
import shutil
import sys
import tempfile

import pytest
from httpx import ASGITransport, AsyncClient
import pytest_asyncio

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

if not os.environ.get("DATABASE_URL"):
    _tmpdir = tempfile.mkdtemp(prefix="fastapi_todo_")
    atexit.register(shutil.rmtree, _tmpdir, ignore_errors=True)
    os.environ["DATABASE_URL"] = "sqlite:///" + os.path.join(_tmpdir, "todo.db")

from todo_app import models  # noqa: E402
from todo_app.database import engine  # noqa: E402
from todo_app.main import app  # noqa: E402


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client():
    # start from a clean schema even if a previous run was interrupted
    async with engine.begin() as conn:
        await conn.run_sync(models.Base.metadata.drop_all)
    async with engine.begin() as conn:
        await conn.run_sync(models.Base.metadata.create_all)
    async with app.router.lifespan_context(app), AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver", follow_redirects=True) as test_client:
        yield test_client
    async with engine.begin() as conn:
        await conn.run_sync(models.Base.metadata.drop_all)
    await engine.dispose()


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def clean_tables(client):
    yield
    async with engine.begin() as conn:
        for table in reversed(models.Base.metadata.sorted_tables):
            await conn.execute(table.delete())


async def _create_user(client, email, full_name=None):
    response = await client.post(
        "/users/", json={"email": email, "full_name": full_name, "password": "secret123"}
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def make_user(client):
    async def make(email, full_name=None):
        return await _create_user(client, email, full_name)

    return make


@pytest.fixture
def make_todo(client):
    async def make(user_id, title, **fields):
        payload = {"title": title}
        payload.update(fields)
        response = await client.post("/users/%d/todos/" % user_id, json=payload)
        assert response.status_code == 201, response.text
        return response.json()

    return make


@pytest_asyncio.fixture(loop_scope="session")
async def alice(make_user):
    return await make_user("alice@example.com", "Alice Adams")


@pytest_asyncio.fixture(loop_scope="session")
async def bob(make_user):
    return await make_user("bob@example.com", "Bob Brown")
