def test_list_posts_paginated(client, seeded):
    data = client.get("/api/posts?per_page=3").get_json()
    assert data["total"] == 7
    assert data["pages"] == 3
    assert data["page"] == 1
    assert data["has_next"] is True
    assert data["next"].endswith("/api/posts?page=2")
    assert [p["title"] for p in data["items"]] == [
        "Gardening with SQL",
        "Connection pooling",
        "Hello world",
    ]
    first = data["items"][0]
    assert first["author"] == "carol"
    assert first["tags"] == ["databases", "fun"]
    assert first["comment_count"] == 1
    last = client.get("/api/posts?per_page=3&page=3").get_json()
    assert [p["slug"] for p in last["items"]] == ["indexing-basics"]
    assert last["has_next"] is False and last["next"] is None


def test_list_posts_filtered_by_tag_and_author(client, seeded):
    by_tag = client.get("/api/posts?tag=performance").get_json()
    assert [p["slug"] for p in by_tag["items"]] == ["connection-pooling", "indexing-basics"]
    by_author = client.get("/api/posts?author=bob").get_json()
    assert [p["slug"] for p in by_author["items"]] == ["packaging-in-2019", "pythonic-loops"]
    assert by_author["total"] == 2


def test_get_post_with_comments(client, seeded):
    post_id = client.get("/api/posts?author=alice").get_json()["items"][-1]["id"]
    data = client.get("/api/posts/%d" % post_id).get_json()
    assert data["title"] == "Indexing basics"
    assert data["body"] == "Why every foreign key deserves an index."
    assert [(c["author_name"], c["post"]) for c in data["comments"]] == [
        ("bob", "indexing-basics"),
        ("carol", "indexing-basics"),
    ]
    comments = client.get("/api/posts/%d/comments" % post_id).get_json()
    assert [c["body"] for c in comments] == ["Great intro!", "What about partial indexes?"]
    assert client.get("/api/posts/999999").status_code == 404
    assert client.get("/api/posts/999999").get_json() == {"error": "Not Found"}


def test_create_user_and_conflicts(client):
    response = client.post("/api/users", json={"username": "zoe", "email": "zoe@example.com"})
    assert response.status_code == 201
    data = response.get_json()
    assert data["username"] == "zoe" and data["email"] == "zoe@example.com"
    assert data["post_count"] == 0 and data["follower_count"] == 0
    fetched = client.get(response.headers["Location"])
    assert fetched.status_code == 200
    assert fetched.get_json()["username"] == "zoe"
    dup = client.post("/api/users", json={"username": "zoe2", "email": "zoe@example.com"})
    assert dup.status_code == 409
    bad = client.post("/api/users", json={"username": "nomail"})
    assert bad.status_code == 400
    assert bad.get_json() == {"error": "username and email are required"}
    assert client.get("/api/users/424242").status_code == 404


def test_create_update_post_via_api(client, seeded):
    response = client.post(
        "/api/posts",
        json={"author": "dave", "title": "API post", "body": "Created through JSON.", "tags": ["python", "new"]},
    )
    assert response.status_code == 201
    created = response.get_json()
    assert created["slug"] == "api-post"
    assert created["author"] == "dave"
    assert created["tags"] == ["new", "python"]
    patched = client.patch(
        response.headers["Location"], json={"title": "API post v2", "tags": "fun", "published": False}
    ).get_json()
    assert patched["title"] == "API post v2"
    assert patched["tags"] == ["fun"]
    assert patched["published"] is False
    drafts = client.get("/api/users/dave/drafts").get_json()
    assert drafts == {"count": 1, "items": ["api-post"]}
    assert client.post("/api/posts", json={"author": "nobody", "title": "x", "body": "y"}).status_code == 400
    assert client.post("/api/posts", json={"author": "dave", "title": "", "body": "y"}).status_code == 400


def test_user_json_counts(client, seeded):
    alice_id = client.get("/api/posts?author=alice").get_json()["items"][0]["author_id"]
    alice = client.get("/api/users/%d" % alice_id).get_json()
    assert alice == {
        "id": alice_id,
        "username": "alice",
        "about_me": "Writes about databases.",
        "post_count": 3,
        "follower_count": 2,
        "followed_count": 1,
    }
    followers = client.get("/api/users/alice/followers").get_json()
    assert followers == {"username": "alice", "count": 2, "followers": ["bob", "carol"]}
    following = client.get("/api/users/carol/following").get_json()
    assert following == {"username": "carol", "count": 2, "following": ["alice", "bob"]}
    assert client.get("/api/users/nobody/followers").status_code == 404


def test_follow_unfollow_api(client, seeded):
    r = client.post("/api/users/dave/follow", json={"follower": "bob"}).get_json()
    assert r == {"changed": True, "follower_count": 1}
    r = client.post("/api/users/dave/follow", json={"follower": "bob"}).get_json()
    assert r == {"changed": False, "follower_count": 1}
    r = client.post("/api/users/dave/follow", json={"follower": "dave"}).get_json()
    assert r == {"changed": False, "follower_count": 1}
    r = client.post("/api/users/alice/unfollow", json={"follower": "carol"}).get_json()
    assert r == {"changed": True, "follower_count": 1}
    r = client.post("/api/users/alice/unfollow", json={"follower": "carol"}).get_json()
    assert r == {"changed": False, "follower_count": 1}
    assert client.post("/api/users/alice/follow", json={"follower": "ghost"}).status_code == 400


def test_feed_api_merges_followed_and_own_posts(client, seeded):
    alice = client.get("/api/users/alice/feed").get_json()["items"]
    assert [p["slug"] for p in alice] == [
        "connection-pooling",
        "packaging-in-2019",
        "pythonic-loops",
        "query-plans-explained",
        "indexing-basics",
    ]
    bob = client.get("/api/users/bob/feed?limit=2").get_json()["items"]
    assert [p["slug"] for p in bob] == ["draft-async-thoughts", "connection-pooling"]


def test_tags_and_stats(client, seeded):
    assert client.get("/api/tags").get_json() == [
        {"name": "databases", "uses": 4},
        {"name": "performance", "uses": 2},
        {"name": "python", "uses": 2},
        {"name": "fun", "uses": 1},
        {"name": "packaging", "uses": 1},
    ]
    assert client.get("/api/stats").get_json() == {
        "users": 4,
        "posts": 7,
        "drafts": 1,
        "comments": 4,
        "tags": 5,
        "top_authors": [
            {"username": "alice", "posts": 3},
            {"username": "bob", "posts": 3},
            {"username": "carol", "posts": 2},
        ],
    }


def test_delete_user_cascades_posts_and_follows(client, seeded):
    bob = client.post("/api/users/alice/follow", json={"follower": "bob"}).get_json()
    assert bob["follower_count"] == 2
    post = client.get("/api/posts?author=bob").get_json()["items"][0]
    bob_id = post["author_id"]
    assert client.get("/api/users/%d" % bob_id).get_json()["username"] == "bob"
    assert client.get("/api/users/%d" % bob_id).get_json()["post_count"] == 3
    assert client.delete("/api/users/%d" % bob_id).status_code == 204
    assert client.get("/api/users/%d" % bob_id).status_code == 404
    assert client.get("/api/posts/%d" % post["id"]).status_code == 404
    assert client.get("/api/users/alice/followers").get_json()["followers"] == ["carol"]
    assert client.get("/api/users/carol/following").get_json()["following"] == ["alice"]
    stats = client.get("/api/stats").get_json()
    assert (stats["users"], stats["posts"], stats["drafts"], stats["comments"]) == (3, 5, 0, 3)


def test_search_api(client, seeded):
    assert [p["slug"] for p in client.get("/api/search?q=SQL").get_json()] == ["gardening-with-sql"]
    assert client.get("/api/search").status_code == 400
