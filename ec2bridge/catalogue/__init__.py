"""AWS's public EC2 facts that emulator mode serves: regions and zones, public AMIs, instance types,
where each type is offered, and the SSM parameters naming the latest AMIs.

The data files are built by ``scripts/build_ec2_catalogue.py`` (see ``data/NOTICE``); each is read
once, on first use, so a server that never asks pays nothing.
"""
from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data"

# Regions AWS launched after March 2019 are disabled until an account opts in.
OPT_IN_REGIONS = frozenset({
    "af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-south-1", "eu-south-2",
    "il-central-1", "me-central-1", "me-south-1", "mx-central-1"})


@lru_cache(maxsize=None)
def _load(name: str):
    with gzip.open(DATA / f"{name}.json.gz", "rt") as f:
        return json.load(f)


def regions() -> dict[str, dict]:
    """Region name -> ``{"long_name", "zones": [zone names], "zone_ids": [zone ids]}``."""
    return _load("regions")


def images(region: str) -> list[dict]:
    """The public AMIs a region has: those moto serves everywhere, then the region's latest ones
    (records with moto's snake_case fields: ``ami_id``, ``name``, ``owner_id``, ``architecture``, …)."""
    data = _load("images")
    return data["everywhere"] + data["latest"].get(region, [])


def instance_types() -> dict[str, dict]:
    """Instance type name -> its ``DescribeInstanceTypes`` record, as AWS answers it."""
    return _load("instance_types")


def instance_type_offerings(location_type: str, region: str) -> dict[str, list[str]]:
    """Location (the region, a zone name or a zone id, by ``location_type``) -> the types offered there."""
    return _load("instance_type_offerings")[location_type].get(region, {})


def ssm_parameters(region: str) -> list[dict]:
    """The public SSM parameters naming the region's latest Amazon Linux AMIs (Name, Value, Type, …)."""
    return _load("ssm_parameters").get(region, [])
