"""A whole started Cloud (all managers, simulator, demo cloud) on SQLite and MariaDB."""
from __future__ import annotations

import pytest

from backends import bootstrap
from backends.cloud import Cloud
from backends.models import Account, User
from tests.conftest import DB_PARAMS, database_url


@pytest.fixture(params=DB_PARAMS)
def cloud(request, tmp_path, monkeypatch):
    from backends.identity import passwords

    monkeypatch.setattr(passwords, "PASSWORD_ITERATIONS", 1000)  # cheap hashes; same code path
    url, cleanup = database_url(request.param, tmp_path)
    c = Cloud(url, data_dir=str(tmp_path / "data"), node_id="test-node", job_workers=4, background=False)
    c.start()
    bootstrap.ensure_demo_cloud(c)
    yield c
    c.stop()
    cleanup()


def caller_of(cloud, account_name: str):
    user = User.select().join(Account).where(Account.name == account_name).get()
    return cloud.accounts.caller_for(user)
