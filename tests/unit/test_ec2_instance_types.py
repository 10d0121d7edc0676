"""The demo cloud's instance types are sized as AWS sizes them, so what emulator mode's DescribeInstanceTypes
says of a type is what a launched instance of it gets."""
from backends.bootstrap import INSTANCE_TYPES
from ec2bridge import catalogue
from ec2bridge.actions.instance_types import INSTANCE_TYPE_FILTERS


def test_the_demo_cloud_s_types_have_aws_s_sizes():
    records = catalogue.instance_types()
    assert {name: (records[name]["VCpuInfo"]["DefaultVCpus"], records[name]["MemoryInfo"]["SizeInMiB"])
            for name in INSTANCE_TYPES} == INSTANCE_TYPES


def test_every_filter_reads_values_from_aws_records():
    """A filter whose path names no member of any record would match nothing, silently."""
    records = list(catalogue.instance_types().values())
    for name in INSTANCE_TYPE_FILTERS.fields:
        getter = INSTANCE_TYPE_FILTERS.getter(name)
        assert any(getter(record) for record in records), name
