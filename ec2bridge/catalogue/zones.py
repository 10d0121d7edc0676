"""Availability zone names and ids: which zone id each of a region's zone names stands for.

AWS maps zone names to zone ids per account; moto's server hard-codes one mapping (an amalgamation of
its contributors' accounts) and test suites written against it may assert it, so the regions it maps
irregularly are mapped as moto does; every other region's names map to its ids in order
(``us-east-2a`` -> ``use2-az1``). Regions the catalogue does not know get moto's regularised ids.
"""
from __future__ import annotations

from functools import lru_cache

from ec2bridge.catalogue import regions

# moto's mapping for the regions where it is not name order -> id order (moto/ec2/models/
# availability_zones_and_regions.py).
MOTO_ZONE_IDS = {
    "ap-northeast-1": {"ap-northeast-1a": "apne1-az4", "ap-northeast-1c": "apne1-az1", "ap-northeast-1d": "apne1-az2"},
    "ap-south-1": {"ap-south-1a": "aps1-az1", "ap-south-1b": "aps1-az3", "ap-south-1c": "aps1-az2"},
    "ap-southeast-2": {"ap-southeast-2a": "apse2-az1", "ap-southeast-2b": "apse2-az3", "ap-southeast-2c": "apse2-az2"},
    "eu-west-1": {"eu-west-1a": "euw1-az3", "eu-west-1b": "euw1-az1", "eu-west-1c": "euw1-az2"},
    "eu-west-2": {"eu-west-2a": "euw2-az2", "eu-west-2b": "euw2-az3", "eu-west-2c": "euw2-az1"},
    "us-east-1": {"us-east-1a": "use1-az6", "us-east-1b": "use1-az1", "us-east-1c": "use1-az2",
                  "us-east-1d": "use1-az4", "us-east-1e": "use1-az3", "us-east-1f": "use1-az5"},
    "us-west-1": {"us-west-1a": "usw1-az3", "us-west-1b": "usw1-az1"},
    "us-west-2": {"us-west-2a": "usw2-az2", "us-west-2b": "usw2-az1", "us-west-2c": "usw2-az3",
                  "us-west-2d": "usw2-az4"},
}


def zone_names(region: str) -> list[str]:
    """The names of AWS's zones in ``region`` (``us-east-1a`` …); empty for a region AWS does not have."""
    known = regions().get(region)
    return list(known["zones"]) if known else []


@lru_cache(maxsize=None)
def zone_ids(region: str) -> dict[str, str]:
    """Zone name -> zone id for AWS's zones in ``region``."""
    known = regions().get(region) or {"zones": list(MOTO_ZONE_IDS.get(region, {})), "zone_ids": []}
    mapped = MOTO_ZONE_IDS.get(region, {})
    # Zones AWS opened after moto's table was written take the ids left, in order.
    names = [n for n in known["zones"] if n not in mapped]
    ids = sorted(set(known["zone_ids"]) - set(mapped.values()), key=_id_number)
    return {name: mapped.get(name) for name in known["zones"] if name in mapped} | dict(zip(names, ids))


def zone_id(region: str, name: str) -> str:
    """The id of zone ``name`` of ``region``: AWS's (as mapped above), else moto's regularised one
    (region shorthand, ``-az``, the zone's position: ``use1-az1`` for ``us-east-1a``)."""
    known = zone_ids(region).get(name)
    if known:
        return known
    suffix = name[len(region):] if name.startswith(region) else name
    number = ord(suffix[-1]) - ord("a") + 1 if len(suffix) == 1 and suffix.isalpha() else 1
    return f"{region_shorthand(region)}-az{number}"


def region_shorthand(region: str) -> str:
    """moto's (and AWS's) short region name in zone ids: ``us-east-1`` -> ``use1``, ``ap-northeast-2`` ->
    ``apne2``."""
    parts = region.split("-")
    if len(parts) < 2:
        return region
    short = "usg" if region.startswith("us-gov") else parts[0]
    for cardinal in ("north", "south", "central", "east", "west"):
        if cardinal in region:
            short += cardinal[0]
    return short + parts[-1]


def _id_number(zone_id_: str) -> int:
    return int(zone_id_.rsplit("az", 1)[-1])
