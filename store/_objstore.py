"""Data files in S3-compatible object storage, through DuckDB's httpfs extension.

Credentials come from the environment under the AWS SDK's own names, so the same settings
serve boto3, the aws CLI and teachable: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN, AWS_REGION (or AWS_DEFAULT_REGION), and for a non-AWS endpoint (MinIO,
Ceph, R2, a local emulator) AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, e.g.
`http://127.0.0.1:9000`. A custom endpoint is addressed path-style (bucket in the path), which
every S3-compatible server accepts. The secret lives in the DuckDB connection's memory only
(a temporary secret): nothing is written to disk.
"""

from __future__ import annotations

import os
import urllib.parse

import duckdb

from store.errors import ConfigError

SCHEMES = ("s3://", "s3a://", "s3n://", "r2://", "gcs://", "gs://")


def is_object_storage(path: str) -> bool:
    return path.lower().startswith(SCHEMES)


def s3_settings(env: dict[str, str] | None = None) -> dict[str, str]:
    """The S3 secret's parameters (DuckDB `CREATE SECRET (TYPE s3, ...)`) from the environment."""
    env = dict(os.environ if env is None else env)
    settings: dict[str, str] = {}
    if env.get("AWS_ACCESS_KEY_ID"):
        settings["KEY_ID"] = env["AWS_ACCESS_KEY_ID"]
    if env.get("AWS_SECRET_ACCESS_KEY"):
        settings["SECRET"] = env["AWS_SECRET_ACCESS_KEY"]
    if env.get("AWS_SESSION_TOKEN"):
        settings["SESSION_TOKEN"] = env["AWS_SESSION_TOKEN"]
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        settings["REGION"] = region
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        url = urllib.parse.urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        if not url.netloc:
            raise ConfigError(f"AWS_ENDPOINT_URL: not an endpoint URL: {endpoint!r}")
        settings["ENDPOINT"] = url.netloc + url.path.rstrip("/")
        settings["USE_SSL"] = "true" if url.scheme == "https" else "false"
        settings["URL_STYLE"] = "path"
    return settings


def create_s3_secret(con: duckdb.DuckDBPyConnection) -> None:
    settings = s3_settings()
    literal = {"USE_SSL"}
    parts = ["TYPE s3"] + [
        f"{key} {value}" if key in literal else f"{key} '{value.replace(chr(39), chr(39) * 2)}'"
        for key, value in settings.items()
    ]
    con.execute(f"CREATE OR REPLACE TEMPORARY SECRET teachable_s3 ({', '.join(parts)})")
