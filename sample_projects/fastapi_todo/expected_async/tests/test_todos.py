from datetime import date, timedelta
import pytest


@pytest.mark.asyncio(loop_scope="session")
async def test_create_todo_with_tags(client, alice, make_todo):
    todo = await make_todo(
        alice["id"],
        "Write report",
        description="Quarterly numbers",
        priority=1,
        due_date="2030-01-31",
        tags=["Work", "urgent", "work"],
    )
    assert todo == {
        "id": todo["id"],
        "title": "Write report",
        "description": "Quarterly numbers",
        "priority": 1,
        "due_date": "2030-01-31",
        "done": False,
        "owner_id": alice["id"],
        "project_id": None,
        "tags": [{"name": "urgent"}, {"name": "work"}],
    }


@pytest.mark.asyncio(loop_scope="session")
async def test_todo_validation(client, alice):
    assert (await client.post("/users/%d/todos/" % alice["id"], json={"title": ""})).status_code == 422
    assert (await client.post("/users/%d/todos/" % alice["id"], json={"title": "x", "priority": 9})).status_code == 422
    assert (await client.post("/users/%d/todos/" % alice["id"], json={"title": "x", "project_id": 123456})).status_code == 400


@pytest.mark.asyncio(loop_scope="session")
async def test_read_todo_includes_owner_and_project(client, alice, make_todo):
    project = (await client.post("/users/%d/projects/" % alice["id"], json={"name": "house"})).json()
    todo = await make_todo(alice["id"], "fix roof", project_id=project["id"])
    data = (await client.get("/todos/%d" % todo["id"])).json()
    assert data["owner_email"] == "alice@example.com"
    assert data["project_name"] == "house"
    loose = await make_todo(alice["id"], "loose end")
    assert (await client.get("/todos/%d" % loose["id"])).json()["project_name"] is None
    assert (await client.get("/todos/999999")).status_code == 404


@pytest.mark.asyncio(loop_scope="session")
async def test_list_todos_filters_and_ordering(client, alice, bob, make_todo):
    a1 = await make_todo(alice["id"], "low thing", priority=3, tags=["home"])
    a2 = await make_todo(alice["id"], "urgent thing", priority=1, tags=["work"])
    a3 = await make_todo(alice["id"], "normal thing", tags=["home", "work"])
    b1 = await make_todo(bob["id"], "bob thing", priority=1, tags=["home"])
    everything = (await client.get("/todos/")).json()
    assert [t["id"] for t in everything] == [a2["id"], b1["id"], a3["id"], a1["id"]]
    assert [t["owner_email"] for t in everything] == [
        "alice@example.com",
        "bob@example.com",
        "alice@example.com",
        "alice@example.com",
    ]
    mine = (await client.get("/todos/?owner_id=%d" % alice["id"])).json()
    assert [t["title"] for t in mine] == ["urgent thing", "normal thing", "low thing"]
    home = (await client.get("/todos/?tag=home")).json()
    assert [t["id"] for t in home] == [b1["id"], a3["id"], a1["id"]]
    home_alice = (await client.get("/todos/?tag=HOME&owner_id=%d" % alice["id"])).json()
    assert [t["id"] for t in home_alice] == [a3["id"], a1["id"]]
    assert [t["id"] for t in (await client.get("/todos/?q=URGENT")).json()] == [a2["id"]]
    page = (await client.get("/todos/?skip=1&limit=2")).json()
    assert [t["id"] for t in page] == [b1["id"], a3["id"]]


@pytest.mark.asyncio(loop_scope="session")
async def test_update_todo(client, alice, make_todo):
    todo = await make_todo(alice["id"], "draft", tags=["a", "b"])
    response = await client.patch(
        "/todos/%d" % todo["id"], json={"title": "final", "priority": 1, "tags": ["c"], "done": True}
    )
    assert response.status_code == 200
    data = response.json()
    assert (data["title"], data["priority"], data["done"]) == ("final", 1, True)
    assert data["tags"] == [{"name": "c"}]
    assert [t["id"] for t in (await client.get("/todos/?done=true")).json()] == [todo["id"]]
    assert (await client.get("/todos/?done=false")).json() == []
    reopened = (await client.patch("/todos/%d" % todo["id"], json={"done": False})).json()
    assert reopened["done"] is False and reopened["title"] == "final"
    assert (await client.patch("/todos/999999", json={"done": True})).status_code == 404


@pytest.mark.asyncio(loop_scope="session")
async def test_move_todo_between_projects(client, alice, make_todo):
    one = (await client.post("/users/%d/projects/" % alice["id"], json={"name": "one"})).json()
    two = (await client.post("/users/%d/projects/" % alice["id"], json={"name": "two"})).json()
    todo = await make_todo(alice["id"], "wander", project_id=one["id"])
    moved = (await client.patch("/todos/%d" % todo["id"], json={"project_id": two["id"]})).json()
    assert moved["project_id"] == two["id"]
    assert (await client.get("/projects/%d" % one["id"])).json()["todos"] == []
    assert [t["title"] for t in (await client.get("/projects/%d" % two["id"])).json()["todos"]] == ["wander"]


@pytest.mark.asyncio(loop_scope="session")
async def test_delete_todo(client, alice, make_todo):
    todo = await make_todo(alice["id"], "ephemeral", tags=["gone"])
    assert (await client.delete("/todos/%d" % todo["id"])).status_code == 204
    assert (await client.get("/todos/%d" % todo["id"])).status_code == 404
    assert (await client.delete("/todos/%d" % todo["id"])).status_code == 404
    assert (await client.get("/tags/")).json() == []


@pytest.mark.asyncio(loop_scope="session")
async def test_overdue_todos(client, alice, make_todo):
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    last_week = (date.today() - timedelta(days=7)).isoformat()
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    late = await make_todo(alice["id"], "late", due_date=yesterday, priority=2)
    very_late = await make_todo(alice["id"], "very late", due_date=last_week, priority=2)
    await make_todo(alice["id"], "future", due_date=tomorrow)
    await make_todo(alice["id"], "no date")
    done = await make_todo(alice["id"], "late but done", due_date=yesterday)
    await client.patch("/todos/%d" % done["id"], json={"done": True})
    overdue = (await client.get("/users/%d/todos/overdue" % alice["id"])).json()
    assert [t["id"] for t in overdue] == [late["id"], very_late["id"]]
    assert overdue[0]["owner_email"] == "alice@example.com"


@pytest.mark.asyncio(loop_scope="session")
async def test_tag_counts(client, alice, bob, make_todo):
    await make_todo(alice["id"], "t1", tags=["red", "blue"])
    await make_todo(alice["id"], "t2", tags=["red"])
    await make_todo(bob["id"], "t3", tags=["red", "green", "blue"])
    assert (await client.get("/tags/")).json() == [
        {"name": "red", "count": 3},
        {"name": "blue", "count": 2},
        {"name": "green", "count": 1},
    ]
    assert (await client.get("/tags/?limit=1")).json() == [{"name": "red", "count": 3}]
