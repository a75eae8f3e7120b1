"""Demo data for the guide: load the content files into the tables (idempotent;
staff edits are kept). Narration audio is generated lazily or by
``flask --app app guide audio``."""
from __future__ import annotations


def seed(app, db, credentials) -> None:
    from .content import DATA_DIR, load_content
    if not any(DATA_DIR.glob("*.json")):
        return
    result = load_content(db, clock=app.extensions["scenic.clock"])
    print(f"guide content: {result}")


def processes(app) -> list[list[str]]:
    """Pre-generate narration audio in the background (skips what is cached; exits when
    done), so the first visitors and offline packs do not wait for synthesis."""
    import sys
    return [[sys.executable, "-m", "flask", "--app", "app", "guide", "audio"]]
