"""Drive the shop app (legacy or migrated) through Flask's test client and CLI runner;
print what it answered as JSON. Usage: python drive.py PROJECT_DIR DATABASE_URL"""

import json
import sys

sys.path.insert(0, sys.argv[1])

from shop import create_app
from shop.ext import db

app = create_app(sys.argv[2])
with app.app_context():
    db.drop_all()
    db.create_all()
client = app.test_client()
seen = []
for name in ("ann", "bob"):
    seen.append(client.post("/customers", json={"name": name}).get_json())
for name, total in (("ann", 10), ("ann", 70), ("bob", 55), ("ann", 90)):
    seen.append(client.post(f"/customers/{name}/orders", json={"total": total}).status_code)
seen.append(client.post("/customers/zed/orders", json={"total": 1}).status_code)
seen.append(client.get("/customers/1").get_json())
seen.append(client.get("/customers/99").status_code)
seen.append(client.get("/orders").get_json())
seen.append(client.get("/orders?page=2").get_json())
seen.append(client.get("/orders?page=9").status_code)
seen.append(client.get("/orders/report").get_data(as_text=True).strip())
seen.append(app.test_cli_runner().invoke(args=["rename", "bob", "rob"]).output)
seen.append(client.get("/orders/report").get_data(as_text=True).strip())
with app.app_context():
    db.drop_all()
engine = app.extensions.get("sqla_async_engine")  # the migrated app's async engine
print(json.dumps({"answers": seen, "async_driver": engine and engine.dialect.driver}))
