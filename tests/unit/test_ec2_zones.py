"""Zone names and ids: AWS's names, the ids moto's server gives them (test suites may assert them)."""
from ec2bridge import catalogue
from ec2bridge.catalogue.zones import MOTO_ZONE_IDS, region_shorthand, zone_id, zone_ids, zone_names


def test_every_aws_zone_has_one_of_its_region_s_ids_and_no_two_share_one():
    for region, facts in catalogue.regions().items():
        ids = zone_ids(region)
        assert list(ids) == zone_names(region) == facts["zones"], region
        assert set(ids.values()) <= set(facts["zone_ids"]), region
        assert len(set(ids.values())) == len(ids), region
        assert all(i.startswith(region_shorthand(region) + "-az") for i in ids.values()), region


def test_ids_are_moto_s():
    assert zone_ids("us-east-1") == {"us-east-1a": "use1-az6", "us-east-1b": "use1-az1", "us-east-1c": "use1-az2",
                                     "us-east-1d": "use1-az4", "us-east-1e": "use1-az3", "us-east-1f": "use1-az5"}
    assert zone_ids("us-east-2") == {"us-east-2a": "use2-az1", "us-east-2b": "use2-az2", "us-east-2c": "use2-az3"}
    assert zone_ids("ca-central-1") == {"ca-central-1a": "cac1-az1", "ca-central-1b": "cac1-az2",
                                        "ca-central-1d": "cac1-az4"}
    assert set(MOTO_ZONE_IDS) <= set(catalogue.regions())


def test_a_region_aws_does_not_have_gets_regularised_ids():
    assert zone_names("xx-nowhere-1") == []
    assert zone_id("us-gov-west-1", "us-gov-west-1b") == "usgw1-az2"
    assert zone_id("ap-southeast-7", "ap-southeast-7c") == "apse7-az3"
    assert zone_id("local", "localzone") == "local-az1"
