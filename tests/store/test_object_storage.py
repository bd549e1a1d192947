"""A PostgreSQL-catalog store whose data files live in S3-compatible object storage.

The object storage here is an EMULATOR: moto's S3 server (moto[server], a dev dependency)
listening on 127.0.0.1, reached through DuckDB's real httpfs extension with the AWS SDK's
environment variables (AWS_ENDPOINT_URL...). It checks teachable's side (credentials from the
environment, path-style addressing, files written and read through httpfs, gc refusing); it is
not a test of a real S3 service. The catalog is a real PostgreSQL (pgserver)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from store import Store, StoreError, TableSpec
from store._objstore import s3_settings

pytestmark = pytest.mark.server

ITEMS = TableSpec("items", {"item_id": "VARCHAR", "value": "INTEGER", "run_id": "VARCHAR"})
KEYED_ITEMS = replace(ITEMS, key=("item_id",))  # inserts skip stored item ids
BUCKET = "teachable-lake"


@pytest.fixture(scope="module")
def s3_emulator() -> Iterator[str]:
    """moto's S3 emulator on a free local port; yields its endpoint URL."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] not installed")
    boto3 = pytest.importorskip("boto3")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="emulator-key",
        aws_secret_access_key="emulator-secret",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_emulator: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulator-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulator-secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_emulator)
    monkeypatch.setenv("TEACHABLE_LOCAL_DIR", str(tmp_path / "local"))
    return s3_emulator


def _objects(endpoint: str, prefix: str) -> list[str]:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_runs_time_travel_and_reopening_with_files_in_object_storage(
    s3_env: str, pg_dsn: str
) -> None:
    prefix = f"lake-{uuid.uuid4().hex[:8]}/"
    with Store.open(pg_dsn, data_path=f"s3://{BUCKET}/{prefix}") as store:
        with store.run("load") as run:
            run.insert(ITEMS, pl.DataFrame({"item_id": ["a", "b"], "value": [1, 2]}))
        first = store.snapshot()
        with store.run("more") as run:
            run.insert(KEYED_ITEMS, pl.DataFrame({"item_id": ["b", "c"], "value": [0, 3]}))
        assert run.counts["items_inserted"] == 1
        store.tag("v1", first)
    keys = _objects(s3_env, prefix)
    assert keys and all(k.endswith(".parquet") for k in keys)
    # a second process needs no data path: the catalog recorded it, credentials are in env
    with Store.open(pg_dsn, create=False) as store:
        assert sorted(store.table("items")["item_id"]) == ["a", "b", "c"]
        assert sorted(store.table("items", at="v1")["item_id"]) == ["a", "b"]
        with pytest.raises(StoreError, match="does not clean data files in object storage"):
            store.gc(min_age_s=3600)


def test_endpoint_settings_come_from_the_aws_sdk_variables() -> None:
    settings = s3_settings(
        {"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret",
         "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL_S3": "https://minio.local:9000/"}
    )  # fmt: skip
    assert settings == {
        "KEY_ID": "id",
        "SECRET": "secret",
        "REGION": "eu-west-1",
        "ENDPOINT": "minio.local:9000",
        "USE_SSL": "true",
        "URL_STYLE": "path",
    }
    assert s3_settings({}) == {}  # AWS itself: DuckDB's defaults, virtual-host addressing
