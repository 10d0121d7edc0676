"""Instance types and where they are offered.

Emulator mode answers AWS's catalogue (every type AWS has, its full record, the regions and zones offering
it), as moto's server does, and a launch of a type that has no service offering yet makes one on first use.
Strict mode answers the cloud's service offerings named after instance types: what this cloud provides.
"""
from __future__ import annotations

from ec2bridge import catalogue
from ec2bridge.actions import Context, action
from ec2bridge.actions.filters import FilterSet
from ec2bridge.actions.locations import region_zones
from ec2bridge.actions.paging import paginate
from ec2bridge.catalogue.zones import zone_id
from ec2bridge.errors import Ec2Error


def _read(*path: str):
    """A getter following ``path`` through an instance type record; a list met on the way (disks, say) gives
    the values of each of its items; a member the record lacks gives nothing, so no filter value matches."""
    def get(item):
        values = [item]
        for key in path:
            found = []
            for value in values:
                value = value.get(key) if isinstance(value, dict) else None
                if isinstance(value, list):
                    found += value
                elif value is not None:
                    found.append(value)
            values = found
        return values

    return get


# Every DescribeInstanceTypes filter AWS documents, read from the record.
INSTANCE_TYPE_FILTERS = FilterSet({
    "auto-recovery-supported": _read("AutoRecoverySupported"),
    "bare-metal": _read("BareMetal"),
    "burstable-performance-supported": _read("BurstablePerformanceSupported"),
    "current-generation": _read("CurrentGeneration"),
    "dedicated-hosts-supported": _read("DedicatedHostsSupported"),
    "ebs-info.attachment-limit-type": _read("EbsInfo", "AttachmentLimitType"),
    "ebs-info.maximum-ebs-attachments": _read("EbsInfo", "MaximumEbsAttachments"),
    "ebs-info.ebs-optimized-info.baseline-bandwidth-in-mbps":
        _read("EbsInfo", "EbsOptimizedInfo", "BaselineBandwidthInMbps"),
    "ebs-info.ebs-optimized-info.baseline-iops": _read("EbsInfo", "EbsOptimizedInfo", "BaselineIops"),
    "ebs-info.ebs-optimized-info.baseline-throughput-in-mbps":
        _read("EbsInfo", "EbsOptimizedInfo", "BaselineThroughputInMBps"),
    "ebs-info.ebs-optimized-info.maximum-bandwidth-in-mbps":
        _read("EbsInfo", "EbsOptimizedInfo", "MaximumBandwidthInMbps"),
    "ebs-info.ebs-optimized-info.maximum-iops": _read("EbsInfo", "EbsOptimizedInfo", "MaximumIops"),
    "ebs-info.ebs-optimized-info.maximum-throughput-in-mbps":
        _read("EbsInfo", "EbsOptimizedInfo", "MaximumThroughputInMBps"),
    "ebs-info.ebs-optimized-support": _read("EbsInfo", "EbsOptimizedSupport"),
    "ebs-info.encryption-support": _read("EbsInfo", "EncryptionSupport"),
    "ebs-info.nvme-support": _read("EbsInfo", "NvmeSupport"),
    "free-tier-eligible": _read("FreeTierEligible"),
    "hibernation-supported": _read("HibernationSupported"),
    "hypervisor": _read("Hypervisor"),
    "instance-storage-info.disk.count": _read("InstanceStorageInfo", "Disks", "Count"),
    "instance-storage-info.disk.size-in-gb": _read("InstanceStorageInfo", "Disks", "SizeInGB"),
    "instance-storage-info.disk.type": _read("InstanceStorageInfo", "Disks", "Type"),
    "instance-storage-info.encryption-support": _read("InstanceStorageInfo", "EncryptionSupport"),
    "instance-storage-info.nvme-support": _read("InstanceStorageInfo", "NvmeSupport"),
    "instance-storage-info.total-size-in-gb": _read("InstanceStorageInfo", "TotalSizeInGB"),
    "instance-storage-supported": _read("InstanceStorageSupported"),
    "instance-type": _read("InstanceType"),
    "memory-info.size-in-mib": _read("MemoryInfo", "SizeInMiB"),
    "network-info.bandwidth-weightings": _read("NetworkInfo", "BandwidthWeightings"),
    "network-info.efa-info.maximum-efa-interfaces": _read("NetworkInfo", "EfaInfo", "MaximumEfaInterfaces"),
    "network-info.efa-supported": _read("NetworkInfo", "EfaSupported"),
    "network-info.ena-support": _read("NetworkInfo", "EnaSupport"),
    "network-info.flexible-ena-queues-support": _read("NetworkInfo", "FlexibleEnaQueuesSupport"),
    "network-info.encryption-in-transit-supported": _read("NetworkInfo", "EncryptionInTransitSupported"),
    "network-info.ipv4-addresses-per-interface": _read("NetworkInfo", "Ipv4AddressesPerInterface"),
    "network-info.ipv6-addresses-per-interface": _read("NetworkInfo", "Ipv6AddressesPerInterface"),
    "network-info.ipv6-supported": _read("NetworkInfo", "Ipv6Supported"),
    "network-info.maximum-network-cards": _read("NetworkInfo", "MaximumNetworkCards"),
    "network-info.maximum-network-interfaces": _read("NetworkInfo", "MaximumNetworkInterfaces"),
    "network-info.network-performance": _read("NetworkInfo", "NetworkPerformance"),
    "nitro-enclaves-support": _read("NitroEnclavesSupport"),
    "nitro-tpm-support": _read("NitroTpmSupport"),
    "nitro-tpm-info.supported-versions": _read("NitroTpmInfo", "SupportedVersions"),
    "processor-info.supported-architecture": _read("ProcessorInfo", "SupportedArchitectures"),
    "processor-info.sustained-clock-speed-in-ghz": _read("ProcessorInfo", "SustainedClockSpeedInGhz"),
    "processor-info.supported-features": _read("ProcessorInfo", "SupportedFeatures"),
    "reboot-migration-support": _read("RebootMigrationSupport"),
    "supported-boot-mode": _read("SupportedBootModes"),
    "supported-root-device-type": _read("SupportedRootDeviceTypes"),
    "supported-usage-class": _read("SupportedUsageClasses"),
    "supported-virtualization-type": _read("SupportedVirtualizationTypes"),
    "vcpu-info.default-cores": _read("VCpuInfo", "DefaultCores"),
    "vcpu-info.default-threads-per-core": _read("VCpuInfo", "DefaultThreadsPerCore"),
    "vcpu-info.default-vcpus": _read("VCpuInfo", "DefaultVCpus"),
    "vcpu-info.valid-cores": _read("VCpuInfo", "ValidCores"),
    "vcpu-info.valid-threads-per-core": _read("VCpuInfo", "ValidThreadsPerCore"),
})


@action("DescribeInstanceTypes")
def describe_instance_types(ctx: Context, args: dict) -> dict:
    """The types offered in the signed region (all of them with IncludeUnsupportedInRegion; any named in
    InstanceTypes; unknown: InvalidInstanceType); filters; MaxResults/NextToken."""
    INSTANCE_TYPE_FILTERS.check(args.get("Filters"))
    items = _aws_types(ctx) if ctx.emulator else _cloud_types(ctx)
    wanted = args.get("InstanceTypes")
    if wanted:
        unknown = sorted(set(wanted) - {i["InstanceType"] for i in items})
        if unknown:
            raise Ec2Error("InvalidInstanceType", f"The following supplied instance types do not exist: "
                                                  f"[{', '.join(unknown)}]")
        items = [i for i in items if i["InstanceType"] in wanted]
    elif not args.get("IncludeUnsupportedInRegion"):
        items = [i for i in items if i["SupportedInRegion"]]
    return paginate(args, INSTANCE_TYPE_FILTERS.apply(items, args.get("Filters")), "InstanceTypes", bounds=(5, 100))


describe_instance_types.filters = INSTANCE_TYPE_FILTERS  # listed in the coverage table


def _aws_types(ctx: Context) -> list[dict]:
    """AWS's record of every type, and whether the signed region offers it (a region AWS does not have
    offers every type, as moto's server does)."""
    records = catalogue.instance_types()
    if ctx.region in catalogue.regions():
        offered = set(catalogue.instance_type_offerings("region", ctx.region).get(ctx.region, ()))
    else:
        offered = set(records)
    return [{**record, "SupportedInRegion": name in offered} for name, record in records.items()]


def _cloud_types(ctx: Context) -> list[dict]:
    _, offerings = ctx.cloud.offerings.list_service_offerings(ctx.caller)
    return [_cloud_type(o, _offered_in(o, ctx.region)) for o in offerings if o.instance_type and not o.is_customized]


def _offered_in(offering, region: str) -> bool:
    """An offering tied to one zone is usable in that zone's region only; the others everywhere."""
    return offering.zone_id is None or offering.zone.region.name == region


# This version attaches no data volumes: a VM's only volume is its root volume.
MAX_VOLUMES_PER_VM = 1


def _cloud_type(offering, in_region: bool) -> dict:
    """What this cloud provides for an offering. Of AWS's record for the type only CurrentGeneration is
    taken (how AWS classes the type's name); everything else AWS's record says is about AWS's hardware and
    network, so sizes come from the offering and capabilities from what the hosts here do.
    Left out on purpose: ProcessorInfo.Manufacturer (hosts record no CPU vendor, and an offering runs on any
    host) and NetworkInfo.ConnectionTrackingConfiguration (no connection tracker enforces security groups
    here, so there are no timeouts to report)."""
    family = offering.instance_type.split(".")[0]
    aws = catalogue.instance_types().get(offering.instance_type)
    return {
        "InstanceType": offering.instance_type,
        "CurrentGeneration": aws["CurrentGeneration"] if aws else family not in ("t1", "m1"),
        "FreeTierEligible": offering.instance_type in ("t2.micro", "t3.micro"),
        "SupportedUsageClasses": ["on-demand"], "SupportedRootDeviceTypes": ["ebs"],
        "SupportedVirtualizationTypes": ["hvm"], "BareMetal": False, "Hypervisor": "xen",
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"],
                          "SustainedClockSpeedInGhz": round(offering.cpu_speed / 1000, 1)},
        "VCpuInfo": {"DefaultVCpus": offering.cpu_number, "DefaultCores": offering.cpu_number,
                     "DefaultThreadsPerCore": 1},
        "MemoryInfo": {"SizeInMiB": offering.memory},
        "InstanceStorageSupported": False,
        # Disks are virtio (KVM) or xvd devices, never NVMe, and volumes are not encrypted.
        "EbsInfo": {"EbsOptimizedSupport": "default", "EncryptionSupport": "unsupported",
                    "NvmeSupport": "unsupported", "MaximumEbsAttachments": MAX_VOLUMES_PER_VM,
                    "AttachmentLimitType": "dedicated"},
        "NetworkInfo": {"NetworkPerformance": "Moderate", "MaximumNetworkInterfaces": 1,
                        "MaximumNetworkCards": 1, "DefaultNetworkCardIndex": 0,
                        "NetworkCards": [{"NetworkCardIndex": 0, "NetworkPerformance": "Moderate",
                                          "MaximumNetworkInterfaces": 1, "BaselineBandwidthInGbps": 1.0,
                                          "PeakBandwidthInGbps": 5.0, "DefaultEnaQueueCountPerInterface": 1,
                                          "InterfaceTypes": ["interface"]}],
                        "Ipv4AddressesPerInterface": 1, "Ipv6AddressesPerInterface": 0, "Ipv6Supported": False,
                        "EnaSupport": "supported", "EfaSupported": False, "EncryptionInTransitSupported": False,
                        "EnaSrdSupported": False, "FlexibleEnaQueuesSupport": "unsupported",
                        "SecondaryNetworkSupported": False},
        "PlacementGroupInfo": {"SupportedStrategies": []}, "HibernationSupported": False,
        "BurstablePerformanceSupported": family.startswith("t"), "DedicatedHostsSupported": False,
        "AutoRecoverySupported": False, "SupportedBootModes": ["legacy-bios"],
        # Domains get no enclave, vTPM or hardware clock device; a reboot stays on its host.
        "NitroEnclavesSupport": "unsupported", "NitroTpmSupport": "unsupported", "PhcSupport": "unsupported",
        "RebootMigrationSupport": "unsupported", "SupportedInRegion": in_region,
    }


OFFERING_FILTERS = FilterSet({
    "instance-type": lambda i: i["InstanceType"],
    "location": lambda i: i["Location"],
})


@action("DescribeInstanceTypeOfferings")
def describe_instance_type_offerings(ctx: Context, args: dict) -> dict:
    """Which types the signed region offers, per region, zone name or zone id (LocationType; no outposts
    here); filters location and instance-type; MaxResults/NextToken."""
    OFFERING_FILTERS.check(args.get("Filters"))
    location_type = args.get("LocationType") or "region"
    offered = _aws_offerings(ctx, location_type) if ctx.emulator else _cloud_offerings(ctx, location_type)
    items = [{"InstanceType": name, "LocationType": location_type, "Location": location}
             for location, names in offered.items() for name in names]
    return paginate(args, OFFERING_FILTERS.apply(items, args.get("Filters")), "InstanceTypeOfferings",
                    bounds=(5, 1000))


describe_instance_type_offerings.filters = OFFERING_FILTERS


def _aws_offerings(ctx: Context, location_type: str) -> dict[str, list[str]]:
    """The catalogue's offerings in the signed region, at the locations this region's zones have."""
    if location_type == "outpost":
        return {}
    if ctx.region not in catalogue.regions():
        return _cloud_offerings(ctx, location_type)
    by_location = catalogue.instance_type_offerings(location_type, ctx.region)
    if location_type == "region":
        return {ctx.region: by_location.get(ctx.region, [])}
    key = "ZoneName" if location_type == "availability-zone" else "ZoneId"
    return {zone[key]: by_location[zone[key]] for zone in region_zones(ctx) if zone[key] in by_location}


def _cloud_offerings(ctx: Context, location_type: str) -> dict[str, list[str]]:
    """The cloud's instance-type offerings usable in each of the region's zones (an offering tied to a zone in
    that zone only)."""
    if location_type == "outpost":
        return {}
    _, offerings = ctx.cloud.offerings.list_service_offerings(ctx.caller)
    offerings = [o for o in offerings if o.instance_type and not o.is_customized]
    out: dict[str, list[str]] = {}
    for zone in ctx.cloud.infra.list_zones(ctx.caller)[1]:
        if zone.region.name != ctx.region:
            continue
        location = {"region": ctx.region, "availability-zone": zone.name}.get(location_type) or zone_id(
            ctx.region, zone.name)
        names = out.setdefault(location, [])
        names += [o.instance_type for o in offerings
                  if (o.zone_id is None or o.zone_id == zone.id) and o.instance_type not in names]
    return out


def offering_for(ctx: Context, type_name: str):
    """The service offering a launch or resize to ``type_name`` uses. In emulator mode a type AWS has but
    this cloud has no offering for yet gets one now, sized as AWS sizes it; a name AWS does not have is
    refused as AWS refuses it."""
    offering = ctx.cloud.offerings.by_instance_type(type_name)
    if offering is None and ctx.emulator:
        record = catalogue.instance_types().get(type_name)
        if record is not None:
            offering = ctx.cloud.offerings.ensure_instance_type(
                ctx.caller, type_name, cpu_number=record["VCpuInfo"]["DefaultVCpus"],
                memory=record["MemoryInfo"]["SizeInMiB"])
    if offering is None:
        raise Ec2Error("InvalidParameterValue", f"Invalid value '{type_name}' for InstanceType.")
    return offering
