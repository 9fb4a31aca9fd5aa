import pytest


@pytest.mark.asyncio(loop_scope="session")
async def test_create_and_list_projects(client, alice, bob):
    response = await client.post(
        "/users/%d/projects/" % alice["id"], json={"name": "garden", "description": "Spring work"}
    )
    assert response.status_code == 201
    garden = response.json()
    assert garden == {
        "id": garden["id"],
        "name": "garden",
        "description": "Spring work",
        "owner_id": alice["id"],
        "archived": False,
    }
    await client.post("/users/%d/projects/" % alice["id"], json={"name": "kitchen"})
    await client.post("/users/%d/projects/" % bob["id"], json={"name": "garden"})
    names = [p["name"] for p in (await client.get("/users/%d/projects/" % alice["id"])).json()]
    assert names == ["garden", "kitchen"]
    dup = await client.post("/users/%d/projects/" % alice["id"], json={"name": "garden"})
    assert dup.status_code == 409


@pytest.mark.asyncio(loop_scope="session")
async def test_project_detail_reads_todos_owner_and_progress(client, alice, make_todo):
    project = (await client.post("/users/%d/projects/" % alice["id"], json={"name": "move"})).json()
    first = await make_todo(alice["id"], "pack boxes", project_id=project["id"], tags=["Heavy"])
    await make_todo(alice["id"], "hire van", project_id=project["id"], priority=1)
    await make_todo(alice["id"], "unrelated")
    await client.patch("/todos/%d" % first["id"], json={"done": True})
    detail = (await client.get("/projects/%d" % project["id"])).json()
    assert detail["owner_email"] == "alice@example.com"
    assert [t["title"] for t in detail["todos"]] == ["pack boxes", "hire van"]
    assert detail["todos"][0]["tags"] == [{"name": "heavy"}]
    assert detail["todos"][0]["done"] is True
    assert detail["progress"] == {"done": 1, "total": 2, "percent": 50}
    assert (await client.get("/projects/999999")).status_code == 404


@pytest.mark.asyncio(loop_scope="session")
async def test_complete_project_bulk_update(client, alice, make_todo):
    project = (await client.post("/users/%d/projects/" % alice["id"], json={"name": "release"})).json()
    for title in ("write notes", "tag version", "publish"):
        await make_todo(alice["id"], title, project_id=project["id"])
    other = await make_todo(alice["id"], "elsewhere")
    response = await client.post("/projects/%d/complete" % project["id"])
    assert response.json() == {"updated": 3, "progress": {"done": 3, "total": 3, "percent": 100}}
    again = await client.post("/projects/%d/complete" % project["id"])
    assert again.json()["updated"] == 0
    todos = (await client.get("/todos/?project_id=%d" % project["id"])).json()
    assert all(t["done"] for t in todos)
    assert (await client.get("/todos/%d" % other["id"])).json()["done"] is False


@pytest.mark.asyncio(loop_scope="session")
async def test_archive_project(client, alice):
    project = (await client.post("/users/%d/projects/" % alice["id"], json={"name": "2019 goals"})).json()
    archived = (await client.post("/projects/%d/archive" % project["id"])).json()
    assert archived["archived"] is True
    assert (await client.get("/users/%d/projects/" % alice["id"])).json() == []
    listed = (await client.get("/users/%d/projects/?include_archived=true" % alice["id"])).json()
    assert [p["name"] for p in listed] == ["2019 goals"]
    response = await client.post("/users/%d/todos/" % alice["id"], json={"title": "late", "project_id": project["id"]})
    assert response.status_code == 400
    assert response.json() == {"detail": "Project is archived"}


@pytest.mark.asyncio(loop_scope="session")
async def test_delete_project_cascades_todos(client, alice, make_todo):
    project = (await client.post("/users/%d/projects/" % alice["id"], json={"name": "temp"})).json()
    todo = await make_todo(alice["id"], "temporary", project_id=project["id"], tags=["tmp"])
    keep = await make_todo(alice["id"], "keep me", tags=["tmp"])
    response = await client.delete("/projects/%d" % project["id"])
    assert response.status_code == 204
    assert (await client.get("/projects/%d" % project["id"])).status_code == 404
    assert (await client.get("/todos/%d" % todo["id"])).status_code == 404
    assert (await client.get("/todos/%d" % keep["id"])).status_code == 200
    assert (await client.get("/tags/")).json() == [{"name": "tmp", "count": 1}]


@pytest.mark.asyncio(loop_scope="session")
async def test_cannot_use_someone_elses_project(client, alice, bob):
    project = (await client.post("/users/%d/projects/" % bob["id"], json={"name": "secret"})).json()
    response = await client.post("/users/%d/todos/" % alice["id"], json={"title": "sneaky", "project_id": project["id"]})
    assert response.status_code == 400
    assert response.json() == {"detail": "Unknown project"}
