"""Regions and availability zones.

Strict mode answers the cloud's own regions; emulator mode answers AWS's commercial regions from the
catalogue, as moto's server does. Zones are the cloud's zones of the signed region in both modes (in
emulator mode they were made with AWS's names, see ``backends/bootstrap.py``), with AWS's zone ids.
"""
from __future__ import annotations

from ec2bridge import catalogue
from ec2bridge.actions import Context, action
from ec2bridge.actions.filters import FilterSet
from ec2bridge.catalogue.zones import zone_id
from ec2bridge.errors import Ec2Error

# Every DescribeRegions filter AWS documents.
REGION_FILTERS = FilterSet({
    "endpoint": lambda i: i["Endpoint"],
    "opt-in-status": lambda i: i["OptInStatus"],
    "region-name": lambda i: i["RegionName"],
})


@action("DescribeRegions")
def describe_regions(ctx: Context, args: dict) -> dict:
    """Strict: the cloud's regions. Emulator: AWS's commercial regions, those needing an opt-in only with
    AllRegions (or once a request has used them: then they are opted in). RegionNames, filters."""
    REGION_FILTERS.check(args.get("Filters"))
    items = _aws_regions(ctx) if ctx.emulator else _cloud_regions(ctx)
    wanted = args.get("RegionNames")
    if wanted:
        unknown = [name for name in wanted if name not in {i["RegionName"] for i in items}]
        if unknown:
            raise Ec2Error("InvalidParameterValue", f"Invalid region: {unknown[0]}")
        items = [i for i in items if i["RegionName"] in wanted]
    elif not args.get("AllRegions"):
        items = [i for i in items if i["OptInStatus"] != "not-opted-in"]
    return {"Regions": REGION_FILTERS.apply(items, args.get("Filters"))}


describe_regions.filters = REGION_FILTERS  # listed in the coverage table


def _cloud_regions(ctx: Context) -> list[dict]:
    _, regions = ctx.cloud.infra.list_regions()
    return [{"RegionName": r.name, "Endpoint": r.endpoint or f"ec2.{r.name}.ec2bridge.local",
             "OptInStatus": "opt-in-not-required"} for r in regions]


def _aws_regions(ctx: Context) -> list[dict]:
    """AWS's regions; a region that needs an opt-in is opted in once this cloud has made it (a request was
    signed for it); a region AWS does not have but a request used is listed last, as the cloud serves it."""
    used = {r.name for r in ctx.cloud.infra.list_regions()[1]}
    items = []
    for name in catalogue.regions():
        status = ("opt-in-not-required" if name not in catalogue.OPT_IN_REGIONS
                  else "opted-in" if name in used else "not-opted-in")
        items.append({"RegionName": name, "Endpoint": f"ec2.{name}.amazonaws.com", "OptInStatus": status})
    items += [{"RegionName": name, "Endpoint": f"ec2.{name}.amazonaws.com", "OptInStatus": "opt-in-not-required"}
              for name in sorted(used - set(catalogue.regions()))]
    return items


# Every DescribeAvailabilityZones filter AWS documents (the parent zone is a Local Zone's; these have none).
ZONE_FILTERS = FilterSet({
    "group-long-name": lambda i: i["GroupLongName"],
    "group-name": lambda i: i["GroupName"],
    "message": lambda i: [m["Message"] for m in i["Messages"]],
    "opt-in-status": lambda i: i["OptInStatus"],
    "parent-zone-id": lambda i: i.get("ParentZoneId"),
    "parent-zone-name": lambda i: i.get("ParentZoneName"),
    "region-name": lambda i: i["RegionName"],
    "state": lambda i: i["State"],
    "zone-id": lambda i: i["ZoneId"],
    "zone-name": lambda i: i["ZoneName"],
    "zone-type": lambda i: i["ZoneType"],
})


@action("DescribeAvailabilityZones")
def describe_availability_zones(ctx: Context, args: dict) -> dict:
    """The zones of the signed region; ZoneNames, ZoneIds, filters. Every zone here is an Availability Zone
    (no Local or Wavelength Zones to opt into), so AllAvailabilityZones lists the same ones."""
    ZONE_FILTERS.check(args.get("Filters"))
    items = region_zones(ctx)
    names, ids = args.get("ZoneNames"), args.get("ZoneIds")
    for name in names or []:
        if name not in {i["ZoneName"] for i in items}:
            raise Ec2Error("InvalidParameterValue", f"The zone '{name}' does not exist.")
    for wanted_id in ids or []:
        if wanted_id not in {i["ZoneId"] for i in items}:
            raise Ec2Error("InvalidParameterValue", f"The zone ID '{wanted_id}' does not exist.")
    items = [i for i in items if (not names or i["ZoneName"] in names) and (not ids or i["ZoneId"] in ids)]
    return {"AvailabilityZones": ZONE_FILTERS.apply(items, args.get("Filters"))}


describe_availability_zones.filters = ZONE_FILTERS


def region_zones(ctx: Context) -> list[dict]:
    """The signed region's zones the caller may use, as DescribeAvailabilityZones items."""
    _, zones = ctx.cloud.infra.list_zones(ctx.caller)
    long_name = (catalogue.regions().get(ctx.region) or {}).get("long_name")
    return [{"ZoneName": z.name, "ZoneId": zone_id(ctx.region, z.name),
             "State": "available" if z.allocation_state == "Enabled" else "unavailable",
             "RegionName": ctx.region, "ZoneType": "availability-zone", "OptInStatus": "opt-in-not-required",
             "GroupName": f"{ctx.region}-zg-1", "GroupLongName": f"{long_name or ctx.region} 1",
             "NetworkBorderGroup": ctx.region, "Messages": []}
            for z in zones if z.region.name == ctx.region]
