"""compose.yaml: PostgreSQL with a health check and a volume, and two bots built from the
repository's Dockerfile that share one database URL (#16)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.config import load_settings
from bot.store.urls import is_postgres_url

ROOT = Path(__file__).resolve().parents[1]
# Compose's ${NAME}, ${NAME:-default} and ${NAME:?error} interpolation.
VARIABLE = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")


def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def bots() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if name.startswith("jobbot")
    }


def interpolate(text: str, values: dict[str, str]) -> str:
    """What Compose would make of ``text`` with these variables set."""
    return VARIABLE.sub(lambda m: values[m.group(1)], text)


def test_postgres_runs_the_official_image_with_a_health_check_and_a_volume() -> None:
    postgres = compose()["services"]["postgres"]
    assert postgres["image"].split(":")[0] in ("postgres", "docker.io/library/postgres")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    mounts = [m.split(":") for m in postgres["volumes"]]
    assert any(target == "/var/lib/postgresql/data" for _, target, *_ in mounts)
    named = {source for source, *_ in mounts}
    # A named volume (declared at the top), not a directory that a `down` would leave.
    assert named & set(compose()["volumes"])


def test_two_bots_built_from_the_repository_dockerfile() -> None:
    found = bots()
    assert len(found) >= 2, found
    for name, service in found.items():
        build = service["build"]
        assert (ROOT / build["context"]).resolve() == ROOT, name
        dockerfile = ROOT / build["context"] / build.get("dockerfile", "Dockerfile")
        assert dockerfile.resolve() == (ROOT / "Dockerfile").resolve(), name
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy", name


def test_the_bots_share_one_database_url_naming_the_postgres_service(tmp_path: Path) -> None:
    urls = {service["environment"]["JOBBOT_DATABASE_URL"] for service in bots().values()}
    assert len(urls) == 1, urls
    [url] = urls
    postgres = compose()["services"]["postgres"]["environment"]
    # The password is not written in the file: it comes from .env, in both places.
    assert VARIABLE.search(postgres["POSTGRES_PASSWORD"])
    values = {"POSTGRES_PASSWORD": "s3cret"}
    resolved = interpolate(url, values)
    parts = urlsplit(resolved)
    assert is_postgres_url(resolved)
    assert parts.hostname == "postgres" and (parts.port or 5432) == 5432
    assert parts.username == postgres["POSTGRES_USER"]
    assert parts.password == interpolate(postgres["POSTGRES_PASSWORD"], values)
    assert parts.path == f"/{postgres['POSTGRES_DB']}"
    # jobbot itself accepts it, as the containers will hand it over.
    settings = load_settings(env={"JOBBOT_DATABASE_URL": resolved}, cwd=tmp_path)
    assert settings.database_url == resolved
