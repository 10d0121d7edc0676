"""AWS's public AMIs (moto's catalogue, ``ec2bridge.catalogue``) as emulator mode serves them.

They are served from the package data, not stored: a region's images are built once per process
into DescribeImages items, so ``/moto-api/reset`` (which restores the database) has nothing of
theirs to rebuild, and the ids never change. A launch from one runs on a stand-in template and
the instance reports the catalogue image's facts (``instance_facts``).

As moto serves them: the same ids (some not hex, such as ``ami-ekswin``), names, owners (with the
alias ``amazon`` on every one, which moto sets so that ``Owners=amazon`` finds them),
descriptions, architectures, root devices and virtualization types; a root EBS mapping of 15 GiB
``standard``. Where moto departs from AWS we answer as AWS: ``Platform`` is only ever
``windows`` (moto's data says ``Linux/UNIX`` for a few), ``PlatformDetails``/``UsageOperation``
follow the operating system, and ``CreationDate`` is the release date the image's name carries
(moto stamps every catalogue image with the moment its backend was built, so "the most recent
image" would be an arbitrary one), else the time this process first served the catalogue.
"""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from ec2bridge import catalogue

SERVED_SINCE = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
# The release date in an image's name: 2017.10.13, 20260427 (the first that is a real date).
_DATE = re.compile(r"(?<!\d)(20\d\d)\.?([01]\d)\.?([0-3]\d)(?!\d)")
# (PlatformDetails, UsageOperation) by what the name says the image runs, as AWS bills them.
# SQL Server Express is licensed with Windows: plain "Windows".
_WINDOWS_SQL = (("_Standard", "Windows with SQL Server Standard", "RunInstances:0006"),
                ("_Enterprise", "Windows with SQL Server Enterprise", "RunInstances:0102"),
                ("_Web", "Windows with SQL Server Web", "RunInstances:0202"))


def images(region: str) -> tuple[dict, ...]:
    """The region's public AMIs as DescribeImages items (shared: callers must not change them)."""
    return _by_region(region)[0]


def find(region: str, image_id: str) -> dict | None:
    """The region's public AMI with this id, or None."""
    return _by_region(region)[1].get(image_id)


@lru_cache(maxsize=64)
def _by_region(region: str) -> tuple[tuple[dict, ...], dict[str, dict]]:
    items = tuple(_item(record) for record in catalogue.images(region))
    return items, {item["ImageId"]: item for item in items}


def _item(record: dict) -> dict:
    windows = record.get("platform") == "windows"
    details, usage = _billing(record["name"], windows)
    root = record.get("root_device_name") or "/dev/sda1"
    return {
        "ImageId": record["ami_id"], "Name": record["name"], "Description": record.get("description"),
        "ImageLocation": record.get("image_location") or f"amazon/{record['name']}",
        "State": "available", "OwnerId": record["owner_id"], "ImageOwnerAlias": "amazon",
        "CreationDate": _creation_date(record["name"]), "Public": bool(record.get("public", True)),
        "Architecture": record.get("architecture") or "x86_64", "ImageType": record.get("image_type") or "machine",
        "Hypervisor": record.get("hypervisor") or "xen",
        "VirtualizationType": record.get("virtualization_type") or "hvm",
        "RootDeviceType": record.get("root_device_type") or "ebs", "RootDeviceName": root,
        "BlockDeviceMappings": [{"DeviceName": root, "Ebs": {"DeleteOnTermination": False, "VolumeSize": 15,
                                                             "VolumeType": "standard", "Encrypted": False}}],
        "SriovNetSupport": record.get("sriov"), "Platform": "windows" if windows else None,
        "PlatformDetails": details, "UsageOperation": usage,
        "ProductCodes": [{"ProductCodeId": code, "ProductCodeType": "marketplace"}
                         for code in record.get("product_codes") or []],
        "Tags": [],
    }


def _billing(name: str, windows: bool) -> tuple[str, str]:
    if windows:
        for marker, details, usage in _WINDOWS_SQL:
            if "SQL" in name and marker in name:
                return details, usage
        return "Windows", "RunInstances:0002"
    if name.startswith("RHEL"):
        return "Red Hat Enterprise Linux", "RunInstances:0010"
    if name.startswith("suse-sles"):
        return "SUSE Linux", "RunInstances:000g"
    return "Linux/UNIX", "RunInstances"


def _creation_date(name: str) -> str:
    for year, month, day in _DATE.findall(name):
        try:
            return dt.date(int(year), int(month), int(day)).strftime("%Y-%m-%dT00:00:00.000Z")
        except ValueError:
            continue
    return SERVED_SINCE.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def instance_facts(item: dict) -> dict:
    """What an instance launched from this image shows of it."""
    return {"Architecture": item["Architecture"], "Platform": item["Platform"],
            "PlatformDetails": item["PlatformDetails"], "UsageOperation": item["UsageOperation"],
            "RootDeviceType": item["RootDeviceType"], "RootDeviceName": item["RootDeviceName"],
            "VirtualizationType": item["VirtualizationType"], "Hypervisor": item["Hypervisor"]}
