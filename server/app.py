"""The WSGI application: both front doors on one Flask app over one Cloud."""
from __future__ import annotations

import logging

from flask import Flask

from backends import bootstrap
from backends.cloud import Cloud
from ec2bridge.catalogue.zones import zone_names as aws_zone_names
from server import credentials
from server.settings import Settings

log = logging.getLogger(__name__)


def create_cloud(settings: Settings, *, background: bool = True) -> Cloud:
    """Start the backend; bootstrap the demo cloud on an empty database."""
    cloud = Cloud(settings.db_url, data_dir=settings.data_dir, region=settings.region, node_id=settings.node_id,
                  job_workers=settings.job_workers, background=background,
                  driver_settings=settings.driver_settings,
                  zone_capacity=settings.emulator_capacity if settings.emulator else None,
                  zone_names=aws_zone_names if settings.emulator else None,
                  emulator_account=settings.emulator_account if settings.emulator else None).start()
    fresh = bootstrap.is_empty()
    creds = bootstrap.ensure_demo_cloud(cloud)
    if settings.emulator and fresh:  # what POST /moto-api/reset puts back (else its first call rebuilds it)
        cloud.keep_snapshot()
    for hypervisor, uris in settings.zone_hosts.items():  # zones of real hosts (--kvm-host...)
        bootstrap.ensure_hosts_zone(cloud, hypervisor, list(uris), settings.zone_primary_url(hypervisor))
    credentials.write(settings, creds)
    return cloud


def create_app(settings: Settings | None = None, cloud: Cloud | None = None) -> Flask:
    from ec2bridge.app import blueprint as ec2_blueprint
    from native_api.app import blueprint as native_blueprint

    settings = settings or Settings.from_env()
    cloud = cloud or create_cloud(settings)
    app = Flask("ec2bridge")
    app.register_blueprint(native_blueprint(cloud))
    app.register_blueprint(ec2_blueprint(cloud, emulator=settings.emulator, validate_amis=settings.validate_amis,
                                         emulator_account=settings.emulator_account,
                                         on_reset=lambda: credentials.write(settings, cloud.reset())))

    @app.teardown_request
    def _close_db(_exc):
        # Each request thread returns its connection (pooled on MySQL).
        if not cloud.database.is_closed():
            cloud.database.close()

    return app
