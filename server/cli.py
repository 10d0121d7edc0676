"""``ec2bridge serve``: the cloud on embedded defaults (SQLite + simulator)."""
from __future__ import annotations

import argparse
import logging
import sys

from backends.drivers import registry as driver_registry
from server.settings import Settings, StartupError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ec2bridge", description="CloudStack-style cloud management server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the native API (/client/api) and the EC2 API (/)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", help="port, 1-65535 (default 8080)")
    serve.add_argument("--db", help="database URL: sqlite:///file.db (relative to the working directory), "
                                    "sqlite:////absolute/file.db or mysql://user:pw@host/db")
    serve.add_argument("--data-dir", help="data directory (default ./data)")
    serve.add_argument("--region", help="region name of the demo cloud (default us-east-1)")
    serve.add_argument("--emulator", action="store_true", default=None,
                       help="EC2 emulator mode (like moto's server): any access key is accepted (a 12-digit key "
                            "is that account, any other the default account), POST /moto-api/reset restores the "
                            "demo cloud")
    serve.add_argument("--validate-amis", action="store_true", default=None,
                       help="emulator mode: refuse a launch from an AMI this cloud does not have (by default it "
                            "runs on a stand-in image and reports the id it was given, as moto does)")
    serve.add_argument("--emulator-account", metavar="ACCOUNT_ID",
                       help="emulator mode: the account of access keys that are no 12-digit number "
                            "(default 123456789012)")
    serve.add_argument("--emulator-capacity", metavar="N",
                       help="emulator mode: t2.micro-sized instances each zone has room for (default 10000)")
    for entry in driver_registry.entries():  # what each registered driver takes
        if entry.zone is not None:
            serve.add_argument(entry.zone.host_flag, dest=_hosts_dest(entry), action="append",
                               metavar=entry.zone.host_metavar,
                               help=f"{entry.zone.host_help} for a zone of {entry.name} hosts beside the simulated "
                                    "ones; repeat for more hosts")
            serve.add_argument(entry.zone.primary_flag, dest=_primary_dest(entry), metavar="URL",
                               help=f"primary storage of the {entry.name} zone: file:///dir or nfs://server/export "
                                    "(default: a directory in the data dir)")
        for setting in entry.settings:
            serve.add_argument(setting.flag, dest=_dest(setting), metavar=setting.metavar,
                               help=f"{setting.help} (default {setting.default})")
    serve.add_argument("--threads", help="request threads (default 16)")
    serve.add_argument("--dev", action="store_true",
                       help="werkzeug's development server instead of gunicorn (no keep-alive, not for production)")
    serve.add_argument("--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command != "serve":
        return 2
    zoned = [e for e in driver_registry.entries() if e.zone is not None]
    hosts = {e.name: tuple(getattr(args, _hosts_dest(e))) for e in zoned if getattr(args, _hosts_dest(e))}
    primary = {e.name: getattr(args, _primary_dest(e)) for e in zoned if getattr(args, _primary_dest(e))}
    given = {s.name: getattr(args, _dest(s)) for s in driver_registry.settings() if getattr(args, _dest(s)) is not None}
    try:
        settings = Settings.from_env(host=args.host, port=args.port, db=args.db, data_dir=args.data_dir,
                                     region=args.region, emulator=args.emulator, validate_amis=args.validate_amis,
                                     threads=args.threads, emulator_account=args.emulator_account,
                                     emulator_capacity=args.emulator_capacity,
                                     zone_hosts=hosts, zone_primary=primary, driver_settings=given)
        from server import startup

        startup.check(settings)
    except StartupError as exc:
        print(f"ec2bridge: {exc}", file=sys.stderr, flush=True)
        return 2
    from server import serving

    return serving.serve_dev(settings) if args.dev else serving.serve(settings, args.log_level)


def _dest(setting: driver_registry.DriverSetting) -> str:
    return f"driver_{setting.name}"


def _hosts_dest(entry: driver_registry.HypervisorEntry) -> str:
    return f"zone_hosts_{entry.zone.prefix}"


def _primary_dest(entry: driver_registry.HypervisorEntry) -> str:
    return f"zone_primary_{entry.zone.prefix}"


if __name__ == "__main__":
    sys.exit(main())
