def text(response):
    return response.get_data(as_text=True)


def test_index_empty(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "No posts yet." in text(response)
    assert "Page 1 of 0" in text(response)


def test_index_first_page_lists_newest_published_posts(client, seeded):
    body = text(client.get("/"))
    assert body.index("Gardening with SQL") < body.index("Connection pooling") < body.index("Hello world")
    assert "Packaging in 2019" not in body
    assert "Draft: async thoughts" not in body
    assert "Page 1 of 3" in body
    assert "Older posts" in body
    assert "by <a href=\"/user/carol\">carol</a>" in body


def test_index_pagination_and_out_of_range_page(client, seeded):
    page2 = text(client.get("/?page=2"))
    for title in ("Packaging in 2019", "Pythonic loops", "Query plans explained"):
        assert title in page2
    assert "Newer posts" in page2 and "Older posts" in page2
    page3 = text(client.get("/?page=3"))
    assert "Indexing basics" in page3 and "Older posts" not in page3
    page9 = client.get("/?page=9")
    assert page9.status_code == 200
    assert "No posts yet." in text(page9)


def test_sidebar_shows_popular_tags(client, seeded):
    body = text(client.get("/"))
    assert '<a href="/tag/databases">databases</a> (4)' in body
    assert body.index(">databases<") < body.index(">performance<") < body.index(">python<")
    assert '<a href="/tag/python">python</a> (2)' in body


def test_post_page_renders_author_comments_and_tags(client, seeded):
    response = client.get("/post/indexing-basics")
    assert response.status_code == 200
    body = text(response)
    assert "Written by <a href=\"/user/alice\">alice</a>" in body
    assert "(3 posts)" in body
    assert "<strong>bob</strong>: Great intro!" in body
    assert "<strong>carol</strong>: What about partial indexes?" in body
    assert "2 Comments" in body
    assert "#databases" in body and "#performance" in body
    related = body[body.index("Related posts"):]
    assert related.index("Gardening with SQL") < related.index("Connection pooling") < related.index("Query plans explained")


def test_unapproved_comments_are_hidden(client, seeded):
    body = text(client.get("/post/pythonic-loops"))
    assert "enumerate() is your friend." in body
    assert "spam.example" not in body
    assert "1 Comments" in body


def test_missing_post_and_draft_are_404(client, seeded):
    assert client.get("/post/nope").status_code == 404
    assert client.get("/post/draft-async-thoughts").status_code == 404
    preview = client.get("/post/draft-async-thoughts?preview=1")
    assert preview.status_code == 200
    assert "DRAFT" in text(preview)


def test_comment_form_creates_comment(client, seeded):
    response = client.post(
        "/post/hello-world/comment",
        data={"author_name": "erin", "body": "Welcome aboard"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    body = text(response)
    assert "Your comment has been published." in body
    assert "<strong>erin</strong>: Welcome aboard" in body
    assert "1 Comments" in body


def test_comment_with_link_awaits_moderation(client, seeded):
    response = client.post(
        "/post/hello-world/comment",
        data={"author_name": "erin", "body": "see https://example.org"},
        follow_redirects=True,
    )
    body = text(response)
    assert "awaiting moderation" in body
    assert "example.org" not in body


def test_comment_validation_error(client, seeded):
    response = client.post("/post/hello-world/comment", data={"author_name": "", "body": "x"})
    assert response.status_code == 400
    assert "name and comment are required" in text(response)


def test_new_post_form_creates_post_with_tags(client, seeded):
    assert client.get("/post/new").status_code == 200
    response = client.post(
        "/post/new",
        data={"author": "dave", "title": "Hello world", "body": "Dave says hi.", "tags": "Intro, fun, intro"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/post/hello-world-2")
    body = text(client.get("/post/hello-world-2"))
    assert "Written by <a href=\"/user/dave\">dave</a>" in body
    assert "(1 posts)" in body
    assert body.index("#fun") < body.index("#intro")
    tag_page = text(client.get("/tag/fun"))
    assert "2 published posts" in tag_page


def test_new_post_form_errors(client, seeded):
    unknown = client.post("/post/new", data={"author": "zed", "title": "t", "body": "b"})
    assert unknown.status_code == 400
    assert "Unknown author." in text(unknown)
    empty = client.post("/post/new", data={"author": "dave", "title": "", "body": "b"})
    assert empty.status_code == 400
    assert "title and body are required" in text(empty)


def test_draft_from_form_goes_to_preview(client, seeded):
    response = client.post(
        "/post/new",
        data={"author": "carol", "title": "Secret plans", "body": "Shh.", "draft": "on"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "DRAFT" in text(response)
    assert "Secret plans" not in text(client.get("/"))


def test_delete_post_removes_it_and_its_comments(client, seeded):
    post_id = client.get("/api/posts?per_page=50").get_json()["items"][-1]["id"]
    response = client.post("/post/%d/delete" % post_id, follow_redirects=True)
    assert response.status_code == 200
    assert "Post deleted." in text(response)
    assert client.get("/post/indexing-basics").status_code == 404
    assert client.get("/api/stats").get_json()["comments"] == 2
    assert client.post("/post/%d/delete" % post_id).status_code == 404


def test_user_page(client, seeded):
    body = text(client.get("/user/alice"))
    assert "Writes about databases." in body
    assert "3 posts, 2 followers, following 1" in body
    followers = body[body.index('class="followers"'):]
    assert followers.index("bob") < followers.index("carol")
    assert "You may like" not in body
    assert client.get("/user/nobody").status_code == 404


def test_user_page_suggestions(client, seeded):
    body = text(client.get("/user/dave"))
    assert "0 posts, 0 followers, following 1" in body
    assert "Nobody yet." in body
    assert "You may like: alice, bob" in body


def test_follow_and_unfollow_forms(client, seeded):
    response = client.post("/follow/dave", data={"follower": "alice"}, follow_redirects=True)
    assert "You are now following dave." in text(response)
    assert "0 posts, 1 followers, following 1" in text(response)
    again = client.post("/follow/dave", data={"follower": "alice"}, follow_redirects=True)
    assert "Nothing to do." in text(again)
    response = client.post("/unfollow/dave", data={"follower": "alice"}, follow_redirects=True)
    assert "You are no longer following dave." in text(response)
    assert "0 posts, 0 followers, following 1" in text(response)
    assert client.post("/follow/dave", data={"follower": "nobody"}).status_code == 400


def test_feed_page(client, seeded):
    body = text(client.get("/user/dave/feed"))
    assert body.index("Gardening with SQL") < body.index("Hello world")
    assert "Connection pooling" not in body
    empty = text(client.get("/user/alice/feed"))
    assert "Follow someone" not in empty


def test_tag_page_lists_only_published(client, seeded):
    response = client.get("/tag/python")
    body = text(response)
    assert "2 published posts" in body
    assert body.index("Packaging in 2019") < body.index("Pythonic loops")
    assert "Draft: async thoughts" not in body
    assert client.get("/tag/cobol").status_code == 404


def test_search_page(client, seeded):
    body = text(client.get("/search?q=index"))
    assert "2 results" in body
    assert body.index("Pythonic loops") < body.index("Indexing basics")
    assert "0 results" in text(client.get("/search?q=nothingmatches"))
    assert "0 results" in text(client.get("/search"))
