from datetime import date, timedelta
import pytest


@pytest.mark.asyncio(loop_scope="session")
async def test_health(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "users": 0}


@pytest.mark.asyncio(loop_scope="session")
async def test_create_and_read_user(client):
    response = await client.post(
        "/users/", json={"email": "deadpool@example.com", "full_name": "Wade", "password": "chimichangas4life"}
    )
    assert response.status_code == 201
    data = response.json()
    assert data["email"] == "deadpool@example.com"
    assert data["is_active"] is True
    assert "password" not in data and "hashed_password" not in data
    response = await client.get("/users/%d" % data["id"])
    assert response.status_code == 200
    assert response.json() == {
        "id": data["id"],
        "email": "deadpool@example.com",
        "full_name": "Wade",
        "is_active": True,
        "todo_count": 0,
        "open_count": 0,
        "projects": [],
    }


@pytest.mark.asyncio(loop_scope="session")
async def test_duplicate_email_and_validation(client, alice):
    response = await client.post("/users/", json={"email": "alice@example.com", "password": "another1"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Email already registered"}
    assert (await client.post("/users/", json={"email": "x@example.com", "password": "123"})).status_code == 422
    assert (await client.get("/users/987654")).status_code == 404
    assert (await client.get("/users/987654")).json() == {"detail": "User not found"}


@pytest.mark.asyncio(loop_scope="session")
async def test_list_users_with_paging(client, make_user):
    ids = [(await make_user("user%d@example.com" % n))["id"] for n in range(5)]
    everyone = (await client.get("/users/")).json()
    assert [u["id"] for u in everyone] == ids
    page = (await client.get("/users/?skip=1&limit=2")).json()
    assert [u["email"] for u in page] == ["user1@example.com", "user2@example.com"]
    await client.delete("/users/%d" % ids[0])
    active = (await client.get("/users/?active_only=true")).json()
    assert [u["id"] for u in active] == ids[1:]
    assert (await client.get("/health")).json()["users"] == 5


@pytest.mark.asyncio(loop_scope="session")
async def test_user_detail_counts_todos_and_projects(client, alice, make_todo):
    project = (await client.post("/users/%d/projects/" % alice["id"], json={"name": "home"})).json()
    archived = (await client.post("/users/%d/projects/" % alice["id"], json={"name": "old"})).json()
    await client.post("/projects/%d/archive" % archived["id"])
    await make_todo(alice["id"], "buy milk", project_id=project["id"])
    done = await make_todo(alice["id"], "water plants")
    await client.patch("/todos/%d" % done["id"], json={"done": True})
    detail = (await client.get("/users/%d" % alice["id"])).json()
    assert detail["todo_count"] == 2
    assert detail["open_count"] == 1
    assert [p["name"] for p in detail["projects"]] == ["home"]


@pytest.mark.asyncio(loop_scope="session")
async def test_deactivated_user_cannot_add_todos(client, alice):
    response = await client.delete("/users/%d" % alice["id"])
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    response = await client.post("/users/%d/todos/" % alice["id"], json={"title": "nope"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Inactive user"}
    assert (await client.delete("/users/%d" % alice["id"])).status_code == 400
    assert (await client.post("/users/424242/todos/", json={"title": "nope"})).status_code == 404


@pytest.mark.asyncio(loop_scope="session")
async def test_user_stats(client, alice, bob, make_todo):
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    await make_todo(alice["id"], "pay rent", priority=1, due_date=yesterday, tags=["money", "home"])
    await make_todo(alice["id"], "book dentist", priority=1, due_date=tomorrow, tags=["health"])
    await make_todo(alice["id"], "read novel", priority=3, tags=["fun", "home"])
    finished = await make_todo(alice["id"], "file taxes", priority=2, due_date=yesterday, tags=["money"])
    await client.patch("/todos/%d" % finished["id"], json={"done": True})
    await make_todo(bob["id"], "bob's chore", tags=["home"])
    stats = (await client.get("/users/%d/stats" % alice["id"])).json()
    assert stats == {
        "total": 4,
        "done": 1,
        "open": 3,
        "overdue": 1,
        "by_priority": {"1": 2, "2": 0, "3": 1},
        "top_tags": [{"name": "home", "count": 2}, {"name": "money", "count": 2}, {"name": "fun", "count": 1}],
    }
    empty = (await client.get("/users/%d/stats" % bob["id"])).json()
    assert empty["total"] == 1 and empty["overdue"] == 0


@pytest.mark.asyncio(loop_scope="session")
async def test_purge_completed_todos(client, alice, bob, make_todo):
    first = await make_todo(alice["id"], "one", tags=["x"])
    await make_todo(alice["id"], "two", tags=["x", "y"])
    third = await make_todo(alice["id"], "three")
    bobs = await make_todo(bob["id"], "bob done", tags=["x"])
    for todo in (first, third, bobs):
        await client.patch("/todos/%d" % todo["id"], json={"done": True})
    response = await client.delete("/users/%d/todos/completed" % alice["id"])
    assert response.json() == {"deleted": 2, "remaining": 1}
    assert (await client.get("/todos/%d" % first["id"])).status_code == 404
    assert (await client.get("/todos/%d" % bobs["id"])).status_code == 200
    assert (await client.get("/tags/")).json() == [{"name": "x", "count": 2}, {"name": "y", "count": 1}]
    again = await client.delete("/users/%d/todos/completed" % alice["id"])
    assert again.json() == {"deleted": 0, "remaining": 1}
