"""Every Describe* that botocore declares paginated pages through boto3's own paginators."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def _pages(ec2, operation: str, page_size: int, **params) -> list[dict]:
    return list(ec2.get_paginator(operation).paginate(**params, PaginationConfig={"PageSize": page_size}))


def _code(call, **params) -> str:
    with pytest.raises(ClientError) as info:
        call(**params)
    return info.value.response["Error"]["Code"]


def test_security_groups_page(ec2):
    names = [f"paged-{n}" for n in range(7)]
    for name in names:
        ec2.create_security_group(GroupName=name, Description="paging")
    mine = [{"Name": "group-name", "Values": ["paged-*"]}]
    pages = _pages(ec2, "describe_security_groups", 5, Filters=mine)
    assert [len(p["SecurityGroups"]) for p in pages] == [5, 2]
    assert sorted(g["GroupName"] for p in pages for g in p["SecurityGroups"]) == names
    assert "NextToken" in pages[0] and "NextToken" not in pages[1]
    everything = ec2.describe_security_groups()["SecurityGroups"]  # without MaxResults: one answer, as before
    assert {g["GroupName"] for g in everything} >= set(names) | {"default"}
    assert _code(ec2.describe_security_groups, NextToken="garbage") == "InvalidNextToken"


def test_tags_page(ec2):
    image = next(i for i in ec2.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "ubuntu-22.04")
    instance = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.nano", MinCount=1,
                                 MaxCount=1)["Instances"][0]["InstanceId"]
    tags = [{"Key": f"k{n}", "Value": f"v{n}"} for n in range(12)]
    ec2.create_tags(Resources=[instance], Tags=tags)
    mine = [{"Name": "resource-id", "Values": [instance]}]
    pages = _pages(ec2, "describe_tags", 5, Filters=mine)
    assert [len(p["Tags"]) for p in pages] == [5, 5, 2]
    assert sorted((t["Key"], t["Value"]) for p in pages for t in p["Tags"]) == sorted(
        (t["Key"], t["Value"]) for t in tags)
    assert len(ec2.describe_tags(Filters=mine)["Tags"]) == 12
    assert _code(ec2.describe_tags, MaxResults=4) == "InvalidParameterValue"
    assert _code(ec2.describe_tags, MaxResults=1001) == "InvalidParameterValue"
    ec2.terminate_instances(InstanceIds=[instance])


def test_images_and_instance_types_page(ec2):
    whole = ec2.describe_images()["Images"]
    pages = _pages(ec2, "describe_images", 1)
    assert len(pages) == len(whole) > 1
    assert [i["ImageId"] for p in pages for i in p["Images"]] == [i["ImageId"] for i in whole]
    types = ec2.describe_instance_types()["InstanceTypes"]
    pages = _pages(ec2, "describe_instance_types", 5)
    assert len(pages) == -(-len(types) // 5) > 1
    assert [t["InstanceType"] for p in pages for t in p["InstanceTypes"]] == [t["InstanceType"] for t in types]
