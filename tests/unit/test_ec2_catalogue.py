"""The EC2 catalogue data ships with the package and holds the facts moto's server serves."""
from ec2bridge import catalogue


def test_every_region_has_zones_and_the_well_known_amis():
    regions = catalogue.regions()
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= set(regions)
    assert regions["us-east-1"]["zones"] == [f"us-east-1{letter}" for letter in "abcdef"]
    for region in regions:
        ids = {image["ami_id"] for image in catalogue.images(region)}
        assert "ami-12c6146b" in ids  # the id test suites written for moto hard-code


def test_instance_types_are_aws_records():
    t2_micro = catalogue.instance_types()["t2.micro"]
    assert t2_micro["VCpuInfo"]["DefaultVCpus"] == 1
    assert t2_micro["MemoryInfo"]["SizeInMiB"] == 1024
    assert "t2.micro" in catalogue.instance_type_offerings("region", "us-east-1")["us-east-1"]
    assert set(catalogue.instance_type_offerings("availability-zone", "us-east-1")) == set(
        catalogue.regions()["us-east-1"]["zones"])


def test_ssm_parameters_name_images_of_their_region():
    parameters = {p["Name"]: p["Value"] for p in catalogue.ssm_parameters("us-east-1")}
    image = parameters["/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"]
    assert image in {i["ami_id"] for i in catalogue.images("us-east-1")}
