"""The demo seed: a gate per site with a working token file, and idempotent."""
from gates_helpers import scan

from gates import demo, services as gates


def test_seed_is_idempotent_and_tokens_work(app, db, client, sell):
    with app.app_context():
        demo.seed(app, db, {})
        demo.seed(app, db, {})
    assert len(gates.list_gates(db)) == 5
    path = demo.token_path(app, "kongmiao")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    (_t, code, _), = sell()
    assert scan(client, path.read_text().strip(), code).get_json()["result"] == "allow"
    path.unlink()
    with app.app_context():
        demo.seed(app, db, {})
    assert scan(client, path.read_text().strip(), code).get_json()["reason"] == "already_inside"
