"""Emulator mode's instance types, regions and zones, as a test suite written for moto's server meets them:
AWS's instance type records (filters, paging), where each type is offered (per region, zone name and zone
id), a type launched for the first time getting its service offering, AWS's regions with their opt-in
status, and each region's zones with AWS's names and moto's zone ids, launchable by name. boto3 and awscli.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest
from botocore.exceptions import ClientError
from cs import CloudStack

from conformance.conftest import start_server
from ec2bridge import catalogue
from ec2bridge.actions.instance_types import INSTANCE_TYPE_FILTERS
from ec2bridge.catalogue.zones import MOTO_ZONE_IDS

AWS = os.path.join(os.path.dirname(sys.executable), "aws")
REGION = "us-east-1"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mysql)])
def emulator(request, tmp_path_factory):
    from tests.conftest import database_url

    data_dir = str(tmp_path_factory.mktemp(f"emulator-types-{request.param}"))
    url, cleanup = database_url("mysql", data_dir) if request.param == "mariadb" else (None, lambda: None)
    srv = start_server(data_dir, db=url, args=("--emulator", "--log-level", "WARNING"))
    yield srv
    srv.stop()
    cleanup()


def _client(srv, region: str = REGION, key: str = "AKIATYPES"):
    return boto3.client("ec2", endpoint_url=srv.url, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key="anything")


def _aws(srv, *args, region: str = REGION):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIACLI", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": region,
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    result = subprocess.run([AWS, "--endpoint-url", srv.url, "--output", "json", "ec2", *args], env=env,
                            capture_output=True, text=True, timeout=120)
    return result.returncode, (json.loads(result.stdout) if result.stdout.strip() else None), result.stderr


def _error(call, **params) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def _walk(call, key: str, **params) -> list:
    items, token = [], None
    while True:
        page = call(**params, **({"NextToken": token} if token else {}))
        items += page[key]
        token = page.get("NextToken")
        if not token:
            return items


def _within(shown, record) -> bool:
    """Whether every member ``shown`` has is the record's (lists member by member)."""
    if isinstance(shown, dict):
        return isinstance(record, dict) and all(k in record and _within(v, record[k]) for k, v in shown.items())
    if isinstance(shown, list):
        return isinstance(record, list) and len(shown) == len(record) and all(map(_within, shown, record))
    return shown == record


def _region_types(region: str = REGION) -> set[str]:
    return set(catalogue.instance_type_offerings("region", region)[region])


# ------------------------------------------------------------------------------------------ instance types

def test_instance_type_records_are_aws_records(emulator):
    ec2 = _client(emulator)
    for name in ("t2.micro", "m5.large"):
        got = ec2.describe_instance_types(InstanceTypes=[name])["InstanceTypes"]
        assert got == [{**catalogue.instance_types()[name], "SupportedInRegion": True}]
    code, out, _ = _aws(emulator, "describe-instance-types", "--instance-types", "t2.micro")
    # awscli parses with the EC2 model it bundles, which may be older than botocore's and drop newer members
    # (NetworkCards[].InterfaceTypes in awscli 1.46): everything it shows is the record's.
    assert code == 0 and len(out["InstanceTypes"]) == 1
    assert _within(out["InstanceTypes"][0], {**catalogue.instance_types()["t2.micro"], "SupportedInRegion": True})
    assert out["InstanceTypes"][0]["VCpuInfo"] == catalogue.instance_types()["t2.micro"]["VCpuInfo"]
    assert _error(ec2.describe_instance_types, InstanceTypes=["t2.micro", "x9.nonsense"]) == (
        "InvalidInstanceType", "The following supplied instance types do not exist: [x9.nonsense]")


def test_paging_walks_the_region_s_types_and_with_the_unsupported_ones_all_of_them(emulator):
    ec2 = _client(emulator)
    offered = _walk(ec2.describe_instance_types, "InstanceTypes", MaxResults=100)
    assert {t["InstanceType"] for t in offered} == _region_types() and len(offered) == len(_region_types())
    everything = _walk(ec2.describe_instance_types, "InstanceTypes", MaxResults=100, IncludeUnsupportedInRegion=True)
    assert len(everything) == len(catalogue.instance_types())  # every type AWS has (1,395 as built from moto 5.2.5)
    assert {t["InstanceType"] for t in everything} == set(catalogue.instance_types())
    assert {t["InstanceType"] for t in everything if not t["SupportedInRegion"]} == \
        set(catalogue.instance_types()) - _region_types()
    assert _error(ec2.describe_instance_types, MaxResults=101)[0] == "InvalidParameterValue"
    # awscli pages by itself.
    code, out, _ = _aws(emulator, "describe-instance-types", "--include-unsupported-in-region", "--page-size", "100",
                        "--query", "InstanceTypes[].InstanceType")
    assert code == 0 and sorted(out) == sorted(catalogue.instance_types())


def _values(name: str) -> dict[str, set[str]]:
    """Filter value (as EC2 compares it: text, booleans lower case) -> the types having it."""
    getter = INSTANCE_TYPE_FILTERS.getter(name)
    out: dict[str, set[str]] = {}
    for type_name in _region_types():
        for value in getter(catalogue.instance_types()[type_name]):
            text = "true" if value is True else "false" if value is False else str(value)
            out.setdefault(text, set()).add(type_name)
    return out


@pytest.mark.parametrize("name", sorted(INSTANCE_TYPE_FILTERS.fields))
def test_every_declared_instance_type_filter_removes_rows(emulator, name):
    values = _values(name)
    assert values, f"no type of the region has a value for {name}"
    # The rarest value: a small answer that is neither empty nor everything.
    value, expected = min(values.items(), key=lambda kv: (len(kv[1]), kv[0]))
    got = _walk(_client(emulator).describe_instance_types, "InstanceTypes", MaxResults=100,
                Filters=[{"Name": name, "Values": [value]}])
    assert {t["InstanceType"] for t in got} == expected
    if len(got) == len(_region_types()):  # every type has it (all encrypt EBS): a value none has removes all
        assert not _client(emulator).describe_instance_types(Filters=[{"Name": name, "Values": ["none-has-this"]}])[
            "InstanceTypes"]


def test_instance_type_filters_take_wildcards_and_refuse_unknown_names(emulator):
    ec2 = _client(emulator)
    got = _walk(ec2.describe_instance_types, "InstanceTypes", MaxResults=100,
                Filters=[{"Name": "instance-type", "Values": ["t2.*"]}, {"Name": "vcpu-info.default-vcpus",
                                                                         "Values": ["1", "2"]}])
    assert {t["InstanceType"] for t in got} == {
        n for n in _region_types() if n.startswith("t2.")
        and catalogue.instance_types()[n]["VCpuInfo"]["DefaultVCpus"] in (1, 2)}
    assert _error(ec2.describe_instance_types, Filters=[{"Name": "colour", "Values": ["red"]}]) == (
        "InvalidParameterValue", "The filter 'colour' is invalid")


# ------------------------------------------------------------------------------------------- offerings

def test_offerings_per_location_type(emulator):
    ec2 = _client(emulator)
    by_region = _walk(ec2.describe_instance_type_offerings, "InstanceTypeOfferings", MaxResults=1000)
    assert {(o["InstanceType"], o["Location"], o["LocationType"]) for o in by_region} == {
        (n, REGION, "region") for n in _region_types()}
    for location_type in ("availability-zone", "availability-zone-id"):
        got = _walk(ec2.describe_instance_type_offerings, "InstanceTypeOfferings", LocationType=location_type,
                    MaxResults=1000)
        expected = catalogue.instance_type_offerings(location_type, REGION)
        assert {(o["Location"], o["InstanceType"]) for o in got} == {
            (location, n) for location, names in expected.items() for n in names}
        assert {o["LocationType"] for o in got} == {location_type}
    micro = ec2.describe_instance_type_offerings(LocationType="availability-zone-id", Filters=[
        {"Name": "instance-type", "Values": ["t2.micro"]}, {"Name": "location", "Values": ["use1-az?"]}])
    assert sorted(o["Location"] for o in micro["InstanceTypeOfferings"]) == [f"use1-az{i}" for i in range(1, 7)]
    one_zone = ec2.describe_instance_type_offerings(LocationType="availability-zone", Filters=[
        {"Name": "location", "Values": ["us-east-1d"]}, {"Name": "instance-type", "Values": ["m5.*"]}])
    assert {o["InstanceType"] for o in one_zone["InstanceTypeOfferings"]} == {
        n for n in catalogue.instance_type_offerings("availability-zone", REGION)["us-east-1d"] if n.startswith("m5.")}
    assert ec2.describe_instance_type_offerings(LocationType="outpost")["InstanceTypeOfferings"] == []
    assert _error(ec2.describe_instance_type_offerings, MaxResults=1001)[0] == "InvalidParameterValue"
    assert _error(ec2.describe_instance_type_offerings, Filters=[{"Name": "zone", "Values": ["x"]}])[0] == \
        "InvalidParameterValue"
    code, out, _ = _aws(emulator, "describe-instance-type-offerings", "--location-type", "availability-zone",
                        "--filters", "Name=instance-type,Values=t2.micro", "--query",
                        "InstanceTypeOfferings[].Location")
    assert code == 0 and sorted(out) == [f"us-east-1{letter}" for letter in "abcdef"]


# ------------------------------------------------------------------------------------ first-use offering

def test_a_type_launched_first_gets_its_offering(emulator):
    ec2 = _client(emulator)
    key, secret = emulator.keys("admin")
    admin = CloudStack(endpoint=emulator.api_url, key=key, secret=secret)
    assert not [o for o in admin.listServiceOfferings().get("serviceoffering", []) if o["name"] == "c6i.large"]
    image = next(i for i in ec2.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "debian-12")["ImageId"]
    # A dry run makes nothing.
    assert _error(ec2.run_instances, ImageId=image, InstanceType="c6i.large", MinCount=1, MaxCount=1,
                  DryRun=True)[0] == "DryRunOperation"
    assert not [o for o in admin.listServiceOfferings().get("serviceoffering", []) if o["name"] == "c6i.large"]
    run = ec2.run_instances(ImageId=image, InstanceType="c6i.large", MinCount=2, MaxCount=2)
    assert {i["InstanceType"] for i in run["Instances"]} == {"c6i.large"}
    made = [o for o in admin.listServiceOfferings()["serviceoffering"] if o["name"] == "c6i.large"]
    record = catalogue.instance_types()["c6i.large"]
    assert [(o["cpunumber"], o["memory"]) for o in made] == [
        (record["VCpuInfo"]["DefaultVCpus"], record["MemoryInfo"]["SizeInMiB"])]
    again = ec2.run_instances(ImageId=image, InstanceType="c6i.large", MinCount=1, MaxCount=1)["Instances"][0]
    assert len([o for o in admin.listServiceOfferings()["serviceoffering"] if o["name"] == "c6i.large"]) == 1
    vms = admin.listVirtualMachines(listall="true")["virtualmachine"]
    assert {vm["serviceofferingname"] for vm in vms if vm["id"].replace("-", "")[:17] == again["InstanceId"][2:]} == \
        {"c6i.large"}
    assert _error(ec2.run_instances, ImageId=image, InstanceType="x9.nonsense", MinCount=1, MaxCount=1) == (
        "InvalidParameterValue", "Invalid value 'x9.nonsense' for InstanceType.")
    # Resizing a stopped instance to a type not used yet makes its offering the same way.
    ec2.stop_instances(InstanceIds=[again["InstanceId"]])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[again["InstanceId"]], WaiterConfig={"Delay": 1})
    ec2.modify_instance_attribute(InstanceId=again["InstanceId"], InstanceType={"Value": "m7i.xlarge"})
    assert ec2.describe_instance_attribute(InstanceId=again["InstanceId"], Attribute="instanceType")[
        "InstanceType"]["Value"] == "m7i.xlarge"
    assert [o["cpunumber"] for o in admin.listServiceOfferings()["serviceoffering"] if o["name"] == "m7i.xlarge"] == \
        [catalogue.instance_types()["m7i.xlarge"]["VCpuInfo"]["DefaultVCpus"]]
    assert _error(ec2.modify_instance_attribute, InstanceId=again["InstanceId"],
                  InstanceType={"Value": "x9.nonsense"}) == (
        "InvalidParameterValue", "Invalid value 'x9.nonsense' for InstanceType.")
    code, out, _ = _aws(emulator, "run-instances", "--image-id", image, "--instance-type", "r6g.medium", "--query",
                        "Instances[0].InstanceType")
    assert code == 0 and out == "r6g.medium"
    code, _, err = _aws(emulator, "run-instances", "--image-id", image, "--instance-type", "x9.nonsense")
    assert code != 0 and "Invalid value 'x9.nonsense' for InstanceType." in err


def test_concurrent_first_launches_of_a_type_make_one_offering(emulator):
    from concurrent.futures import ThreadPoolExecutor

    ec2 = _client(emulator)
    image = next(i for i in ec2.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "debian-12")["ImageId"]

    def launch(n):
        client = _client(emulator, key=f"AKIACONCURRENT{n}")
        return client.run_instances(ImageId=image, InstanceType="c7g.medium", MinCount=1, MaxCount=1)[
            "Instances"][0]["InstanceType"]

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(launch, range(6))) == ["c7g.medium"] * 6
    key, secret = emulator.keys("admin")
    admin = CloudStack(endpoint=emulator.api_url, key=key, secret=secret)
    assert len([o for o in admin.listServiceOfferings()["serviceoffering"] if o["name"] == "c7g.medium"]) == 1


# ----------------------------------------------------------------------------------------------- regions

def test_regions_are_aws_s_with_their_opt_in_status(emulator):
    ec2 = _client(emulator)
    enabled = ec2.describe_regions()["Regions"]
    every = ec2.describe_regions(AllRegions=True)["Regions"]
    assert {r["RegionName"] for r in every} == set(catalogue.regions())
    assert all(r["Endpoint"] == f"ec2.{r['RegionName']}.amazonaws.com" for r in every)
    assert {r["RegionName"]: r["OptInStatus"] for r in every if r["RegionName"] in catalogue.OPT_IN_REGIONS} == {
        name: "not-opted-in" for name in catalogue.regions() if name in catalogue.OPT_IN_REGIONS}
    assert {r["RegionName"] for r in enabled} == set(catalogue.regions()) - catalogue.OPT_IN_REGIONS
    assert {r["OptInStatus"] for r in enabled} == {"opt-in-not-required"}
    assert [r["RegionName"] for r in ec2.describe_regions(RegionNames=["eu-west-1", "af-south-1"])["Regions"]] == \
        ["af-south-1", "eu-west-1"]
    assert _error(ec2.describe_regions, RegionNames=["eu-west-1", "xx-nowhere-1"]) == (
        "InvalidParameterValue", "Invalid region: xx-nowhere-1")
    filtered = ec2.describe_regions(AllRegions=True, Filters=[{"Name": "opt-in-status", "Values": ["not-opted-in"]},
                                                              {"Name": "region-name", "Values": ["ap-*"]}])
    assert {r["RegionName"] for r in filtered["Regions"]} == {
        n for n in catalogue.regions() if n in catalogue.OPT_IN_REGIONS and n.startswith("ap-")}
    assert [r["RegionName"] for r in ec2.describe_regions(Filters=[
        {"Name": "endpoint", "Values": ["ec2.eu-west-?.amazonaws.com"]}])["Regions"]] == \
        ["eu-west-1", "eu-west-2", "eu-west-3"]
    assert _error(ec2.describe_regions, Filters=[{"Name": "colour", "Values": ["x"]}])[0] == "InvalidParameterValue"
    # A request signed for an opt-in region uses it: from then on it is opted in.
    assert _client(emulator, "il-central-1").describe_availability_zones()["AvailabilityZones"]
    status = {r["RegionName"]: r["OptInStatus"] for r in ec2.describe_regions()["Regions"]}
    assert status["il-central-1"] == "opted-in"
    code, out, _ = _aws(emulator, "describe-regions", "--all-regions", "--query", "Regions[].RegionName")
    assert code == 0 and sorted(out) == sorted(catalogue.regions())


# ------------------------------------------------------------------------------------------------- zones

def test_zones_have_aws_names_and_moto_s_ids(emulator):
    ec2 = _client(emulator)
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert [(z["ZoneName"], z["ZoneId"]) for z in zones] == list(MOTO_ZONE_IDS[REGION].items())
    assert zones[0] == {"ZoneName": "us-east-1a", "ZoneId": "use1-az6", "State": "available", "RegionName": REGION,
                        "ZoneType": "availability-zone", "OptInStatus": "opt-in-not-required",
                        "GroupName": "us-east-1-zg-1", "GroupLongName": "US East (N. Virginia) 1",
                        "NetworkBorderGroup": REGION, "Messages": []}
    # Other regions: AWS's zone names (us-west-1 has two, ap-northeast-1 has no b), ids as moto has them.
    for region in ("us-west-1", "ap-northeast-1", "eu-west-1", "ca-central-1", "eu-central-2"):
        got = _client(emulator, region).describe_availability_zones(AllAvailabilityZones=True)["AvailabilityZones"]
        assert [z["ZoneName"] for z in got] == catalogue.regions()[region]["zones"]
        assert {z["ZoneId"] for z in got} <= set(catalogue.regions()[region]["zone_ids"])
        if region in MOTO_ZONE_IDS:
            assert {z["ZoneName"]: z["ZoneId"] for z in got} == MOTO_ZONE_IDS[region]
    assert [z["ZoneName"] for z in ec2.describe_availability_zones(ZoneIds=["use1-az4"])["AvailabilityZones"]] == \
        ["us-east-1d"]
    assert [z["ZoneId"] for z in ec2.describe_availability_zones(ZoneNames=["us-east-1f", "us-east-1b"])[
        "AvailabilityZones"]] == ["use1-az1", "use1-az5"]
    assert _error(ec2.describe_availability_zones, ZoneNames=["us-east-1z"]) == (
        "InvalidParameterValue", "The zone 'us-east-1z' does not exist.")
    assert _error(ec2.describe_availability_zones, ZoneIds=["use1-az9"])[0] == "InvalidParameterValue"
    by_filter = ec2.describe_availability_zones(Filters=[{"Name": "zone-id", "Values": ["use1-az1", "use1-az2"]},
                                                         {"Name": "state", "Values": ["available"]}])
    assert [z["ZoneName"] for z in by_filter["AvailabilityZones"]] == ["us-east-1b", "us-east-1c"]
    assert not ec2.describe_availability_zones(Filters=[{"Name": "zone-type", "Values": ["local-zone"]}])[
        "AvailabilityZones"]
    code, out, _ = _aws(emulator, "describe-availability-zones", "--zone-ids", "use1-az6", "--query",
                        "AvailabilityZones[].ZoneName")
    assert code == 0 and out == ["us-east-1a"]


def test_launches_go_to_any_of_the_region_s_zones_and_nowhere_else(emulator):
    ec2 = _client(emulator)
    image = next(i for i in ec2.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "debian-12")["ImageId"]
    run = ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1,
                            Placement={"AvailabilityZone": "us-east-1d"})["Instances"][0]
    assert run["Placement"]["AvailabilityZone"] == "us-east-1d"
    described = ec2.describe_instances(InstanceIds=[run["InstanceId"]])["Reservations"][0]["Instances"][0]
    assert (described["Placement"]["AvailabilityZone"], described["State"]["Name"]) == ("us-east-1d", "running")
    assert _error(ec2.run_instances, ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1,
                  Placement={"AvailabilityZone": "us-east-1z"}) == (
        "InvalidParameterValue", "Invalid availability zone: [us-east-1z]")
    assert _error(ec2.run_instances, ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1,
                  Placement={"AvailabilityZone": "eu-west-1a"}) == (
        "InvalidParameterValue", "Invalid availability zone: [eu-west-1a]")
    code, out, _ = _aws(emulator, "run-instances", "--image-id", image, "--instance-type", "t2.micro", "--placement",
                        "AvailabilityZone=us-east-1f", "--query", "Instances[0].Placement.AvailabilityZone")
    assert code == 0 and out == "us-east-1f"
    code, _, err = _aws(emulator, "run-instances", "--image-id", image, "--placement", "AvailabilityZone=us-east-1g")
    assert code != 0 and "Invalid availability zone: [us-east-1g]" in err


def test_zones_survive_a_reset_and_keep_their_capacity(emulator):
    import requests

    assert requests.post(f"{emulator.url}/moto-api/reset", timeout=60).status_code == 200
    ec2 = _client(emulator)
    assert [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]] == \
        catalogue.regions()[REGION]["zones"]
    key, secret = emulator.keys("admin")
    admin = CloudStack(endpoint=emulator.api_url, key=key, secret=secret)
    zones = {z["name"]: z["id"] for z in admin.listZones()["zone"]}
    assert set(zones) == set(catalogue.regions()[REGION]["zones"])
    # Each zone has room for the emulator's capacity of t2.micro (10,000 by default).
    for name, zone_id in zones.items():
        memory = next(c for c in admin.listCapacity(zoneid=zone_id)["capacity"] if c["type"] == 0)
        assert int(memory["capacitytotal"]) >= 10_000 * 1024 * 1024 * 1024, name


# ------------------------------------------------------------------------------------ the same as moto's

@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    from moto import server as moto_server

    from conformance.conftest import free_port

    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _moto_client(url: str, region: str):
    return boto3.client("ec2", endpoint_url=url, region_name=region, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1", "us-west-1"])
def test_zones_types_and_offerings_answer_as_moto_s_server(emulator, moto, region):
    ours, theirs = _client(emulator, region), _moto_client(moto, region)

    def zones(ec2):
        return [(z["ZoneName"], z["ZoneId"], z["RegionName"], z["State"], z["ZoneType"])
                for z in ec2.describe_availability_zones()["AvailabilityZones"]]

    assert zones(ours) == zones(theirs)
    named = ["t2.micro", "m5.large", "c5.xlarge"]

    def types(ec2):
        # The sizes and kinds: finer details (NetworkCards' InterfaceTypes...) change between moto releases.
        return {t["InstanceType"]: (t["VCpuInfo"], t["MemoryInfo"], t["ProcessorInfo"]["SupportedArchitectures"],
                                    t["CurrentGeneration"], t["SupportedVirtualizationTypes"], t["Hypervisor"])
                for t in ec2.describe_instance_types(InstanceTypes=named)["InstanceTypes"]}

    assert types(ours) == types(theirs)
    for location_type in ("region", "availability-zone", "availability-zone-id"):
        flt = [{"Name": "instance-type", "Values": ["t3.micro", "m5.large"]}]

        def offerings(ec2):
            return sorted((o["InstanceType"], o["Location"], o["LocationType"]) for o in _walk(
                ec2.describe_instance_type_offerings, "InstanceTypeOfferings", LocationType=location_type,
                Filters=flt))

        assert offerings(ours) == offerings(theirs), location_type
