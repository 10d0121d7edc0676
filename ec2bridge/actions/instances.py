"""Instances: run, describe, start, stop, reboot, terminate, over the VM manager."""
from __future__ import annotations

import base64
import binascii
import json

from backends.api import CloudError, LaunchRequest, LaunchTokenReused, LaunchUnplaced
from ec2bridge import catalogue, ssm
from ec2bridge.actions import Context, action, public_images
from ec2bridge.actions.filters import FilterSet, is_exact, iso_time
from ec2bridge.actions.instance_types import offering_for
from ec2bridge.actions.launch_templates import launch_args
from ec2bridge.actions.lookup import find_owned
from ec2bridge.actions.paging import paginate
from ec2bridge.errors import Ec2Error, from_cloud_error, not_found
from ec2bridge.ids import ENI, ENI_ATTACHMENT, RESERVATION, ec2_id, to_ec2, uuid_prefix_of

GiB = 1 << 30
TERMINATED_VISIBLE_SECONDS = 3600  # AWS keeps terminated instances listed about an hour
STATES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}
BY_VM_STATE = {"Starting": "pending", "Running": "running", "Migrating": "running", "Stopping": "stopping",
               "Stopped": "stopped", "Destroyed": "terminated", "Expunging": "terminated", "Error": "terminated"}


# The VM detail that keeps the image id a launch named when it ran on a stand-in image (emulator mode: an
# AMI this cloud does not have); the instance reports that id, as moto does.
NAMED_IMAGE = "ec2.ImageId"
PENDING_REASON = {"Code": "pending", "Message": "pending"}  # what AWS reports while an instance is pending


def _state(name: str) -> dict:
    return {"Code": STATES[name], "Name": name}


DESTROYING = {"TerminateInstances", "destroyVirtualMachine", "expungeVirtualMachine"}
STARTING = {"RunInstances", "StartInstances", "deployVirtualMachine", "startVirtualMachine"}
STOPPING = {"StopInstances", "stopVirtualMachine"}


def state_of(ctx: Context, vm, pending: dict[str, set[str]]) -> str:
    """The EC2 state, counting requests still queued for the VM as the transition AWS would report."""
    name = BY_VM_STATE.get(vm.state, "pending")
    queued = pending.get(vm.uuid, set())
    if name != "terminated" and queued & DESTROYING:
        return "shutting-down"
    if name == "stopped" and queued & STARTING:
        return "pending"
    if name == "running" and queued & STOPPING:
        return "stopping"
    return name


def _busy(ctx: Context, vms) -> dict[str, set[str]]:
    """Requests still queued per VM; the VMs' states are re-read afterwards, so a request that finished
    in between is never hidden behind a state older than it (which would show e.g. 'stopping' for a
    VM that a completed termination already destroyed)."""
    vms = list(vms)
    pending = ctx.cloud.jobs.pending_commands(vm.uuid for vm in vms)
    states = ctx.cloud.vms.current_states(vm.id for vm in vms)
    for vm in vms:
        vm.state = states.get(vm.id, vm.state)
    return pending


def instance_of(ctx: Context, vm, busy: dict[str, set[str]], state: str | None = None) -> dict:
    state = state or state_of(ctx, vm, busy)
    nic = next((n for n in vm.nics if n.is_default), None)
    ip = nic.ip_address if nic is not None else None
    dns = f"ip-{ip.replace('.', '-')}.{ctx.region}.compute.internal" if ip else ""
    root = next((v for v in vm.volumes if v.volume_type == "ROOT" and v.removed is None),
                None) if state != "terminated" else None
    named = _named_image_of(vm)
    image_id = named or ec2_id("Template", vm.template.uuid)
    image = _image_facts(ctx, named)
    item = {
        "InstanceId": ec2_id("VirtualMachine", vm.uuid), "ImageId": image_id,
        "State": _state(state), "PrivateDnsName": dns, "PublicDnsName": "", "StateTransitionReason": "",
        "AmiLaunchIndex": 0, "ProductCodes": [],
        "InstanceType": vm.service_offering.instance_type or vm.service_offering.name,
        "LaunchTime": vm.created, "Placement": {"AvailabilityZone": vm.zone.name, "GroupName": "",
                                                 "Tenancy": "default"},
        "Monitoring": {"State": "disabled"}, "PrivateIpAddress": ip, **image, "EbsOptimized": False,
        "EnaSupport": True, "SourceDestCheck": True,
        "ClientToken": vm.client_token or "", "Tags": [{"Key": t.key, "Value": t.value} for t in vm.resource_tags],
        # A terminated instance has let go of its groups (they may already be deleted), as in AWS.
        "SecurityGroups": [{"GroupName": g.name, "GroupId": ec2_id("SecurityGroup", g.uuid)}
                           for g in vm.security_groups] if state != "terminated" else [],
        "UsageOperationUpdateTime": vm.created,
        "KeyName": vm.key_pair, "CpuOptions": _cpu_options(vm), **UNCHANGING,
        "BlockDeviceMappings": [{"DeviceName": image["RootDeviceName"], "Ebs": {
            "VolumeId": ec2_id("Volume", root.uuid), "Status": "attached", "AttachTime": vm.created,
            "DeleteOnTermination": True}}] if root is not None else [],
        "NetworkInterfaces": [{
            "NetworkInterfaceId": to_ec2(ENI, nic.uuid), "PrivateIpAddress": ip, "PrivateDnsName": dns,
            "MacAddress": nic.mac_address, "Status": "in-use", "SourceDestCheck": True, "InterfaceType": "interface",
            "Description": "",  # the interface made at launch has none, as in AWS
            "OwnerId": vm.account.owner_number,
            "Groups": [{"GroupName": g.name, "GroupId": ec2_id("SecurityGroup", g.uuid)}
                       for g in vm.security_groups],
            "Attachment": {"AttachmentId": to_ec2(ENI_ATTACHMENT, nic.uuid), "DeviceIndex": 0,
                           "NetworkCardIndex": 0,
                           "Status": "attached", "AttachTime": vm.created, "DeleteOnTermination": True},
            "PrivateIpAddresses": [{"PrivateIpAddress": ip, "PrivateDnsName": dns, "Primary": True}],
            "Ipv6Addresses": [], "Operator": {"Managed": False},
        }] if nic is not None and state != "terminated" else [],
    }
    if state == "pending":
        item["StateReason"] = dict(PENDING_REASON)
    if state in ("stopped", "terminated"):
        reason = "Server.InsufficientInstanceCapacity" if vm.state == "Error" else "Client.UserInitiatedShutdown"
        item["StateReason"] = {"Code": reason, "Message": reason + ": " + (
            "Insufficient capacity" if vm.state == "Error" else "User initiated shutdown")}
        item["StateTransitionReason"] = f"User initiated ({vm.state_changed:%Y-%m-%d %H:%M:%S GMT})"
        item.pop("PrivateIpAddress") if state == "terminated" else None
    return item


def _named_image_of(vm) -> str | None:
    """The AMI id a launch on a stand-in named (a public AMI of the catalogue, or an unknown one), else None."""
    return json.loads(vm.details or "{}").get(NAMED_IMAGE) if NAMED_IMAGE in (vm.details or "") else None


# What an instance shows of an image of this cloud (every template is a 64-bit HVM image on one root disk).
IMAGE_FACTS = {"Architecture": "x86_64", "Platform": None, "PlatformDetails": "Linux/UNIX",
               "UsageOperation": "RunInstances", "RootDeviceType": "ebs", "RootDeviceName": "/dev/xvda",
               "VirtualizationType": "hvm", "Hypervisor": "xen"}


def _image_facts(ctx: Context, named: str | None) -> dict:
    """The image's facts the instance shows: the public AMI's when it was launched from one (emulator mode; an
    instance is listed in its own region, whose catalogue it was launched from)."""
    public = public_images.find(ctx.region, named) if named else None
    return public_images.instance_facts(public) if public is not None else IMAGE_FACTS


# The members AWS returns by default that are the same for every instance here, each as this cloud has it:
# no instance metadata service (guests read their metadata from a config drive), BIOS boot, no hibernation,
# enclaves or capacity reservations, no automatic recovery or reboot migration (a host that goes down only
# flags its VMs), hostnames from addresses, nothing managed by a service operator. Shared by every answer:
# never changed in place.
UNCHANGING = {
    "MetadataOptions": {"State": "applied", "HttpTokens": "optional", "HttpPutResponseHopLimit": 1,
                        "HttpEndpoint": "disabled", "HttpProtocolIpv6": "disabled", "InstanceMetadataTags": "disabled"},
    "CapacityReservationSpecification": {"CapacityReservationPreference": "open"},
    "HibernationOptions": {"Configured": False},
    "EnclaveOptions": {"Enabled": False},
    "MaintenanceOptions": {"AutoRecovery": "disabled", "RebootMigration": "disabled"},
    "PrivateDnsNameOptions": {"HostnameType": "ip-name", "EnableResourceNameDnsARecord": False,
                              "EnableResourceNameDnsAAAARecord": False},
    "CurrentInstanceBootMode": "legacy-bios",
    "NetworkPerformanceOptions": {"BandwidthWeighting": "default"},
    "Operator": {"Managed": False},
}


def _cpu_options(vm) -> dict:
    """Cores and threads per core as AWS's record of the instance type has them when the VM has that type's
    vCPUs; otherwise (an offering of another size) one thread per core."""
    offering = vm.service_offering
    info = catalogue.instance_types().get(offering.instance_type or offering.name, {}).get("VCpuInfo") or {}
    if info.get("DefaultVCpus") == vm.cpu_number and info.get("DefaultCores"):
        return {"CoreCount": info["DefaultCores"], "ThreadsPerCore": info.get("DefaultThreadsPerCore", 1)}
    return {"CoreCount": vm.cpu_number, "ThreadsPerCore": 1}


def _reservation(ctx: Context, vms: list, busy: dict[str, set[str]], state: str | None = None) -> dict:
    """``state``: the one every instance shows (a launch's answer), instead of each VM's own."""
    first = vms[0]
    return {"ReservationId": to_ec2(RESERVATION, first.launch_group or first.uuid),
            "OwnerId": first.account.owner_number, "Groups": [],
            "Instances": [instance_of(ctx, vm, busy, state) for vm in vms]}


# ------------------------------------------------------------------ run

@action("RunInstances")
def run_instances(ctx: Context, args: dict) -> dict:
    """Deploys MinCount..MaxCount VMs (all or nothing below MinCount), KeyName, UserData, Placement, root size, TagSpecifications, ClientToken, LaunchTemplate, ImageId resolve:ssm:NAME (emulator mode); answers pending at once."""
    cloud, caller = ctx.cloud, ctx.caller
    args, template_tags = launch_args(ctx, args)  # LaunchTemplate=: its data under the explicit parameters
    low, high = args["MinCount"], args["MaxCount"]
    if low < 1 or high < low:
        raise Ec2Error("InvalidParameterValue", "MinCount must be at least 1 and no more than MaxCount")
    if "ImageId" not in args:
        raise Ec2Error("MissingParameter", "The request must contain the parameter ImageId")
    if args["ImageId"].startswith(ssm.RESOLVE_SSM):
        args["ImageId"] = ssm.resolve_image(ctx.region, args["ImageId"], served=ctx.emulator)
    template = _named_image(ctx, args["ImageId"])
    type_name = args.get("InstanceType", "m1.small")
    offering = offering_for(ctx, type_name)
    zone = _zone(ctx, (args.get("Placement") or {}).get("AvailabilityZone"))
    template, notes = (template, {}) if template is not None else _stand_in(ctx, args["ImageId"], zone)
    if args.get("KeyName") and cloud.keypairs.get(caller, args["KeyName"]) is None:
        raise not_found("SSHKeyPair", args["KeyName"])
    request = LaunchRequest(zone=zone, offering=offering, template=template, min_count=low, max_count=high,
                            key_pair=args.get("KeyName"), client_token=args.get("ClientToken"),
                            job_command="RunInstances", notes=notes, system_tags=template_tags)
    try:
        # A repeated token is answered before the rest of the request is looked at, as the launch it repeats.
        earlier = cloud.vms.launched_before(caller, request)
        if earlier:
            return _reservations(ctx, _load(ctx, [vm.id for vm in earlier]), None)[0]
        _launch_details(ctx, args, request)
        launch = cloud.vms.launch(caller, request)
    except LaunchTokenReused as exc:
        raise Ec2Error("IdempotentParameterMismatch",
                       f"Arguments on this idempotent request are inconsistent with arguments used in "
                       f"previous request(s) for client token '{request.client_token}'") from exc
    except LaunchUnplaced as exc:
        raise Ec2Error("InsufficientInstanceCapacity",
                       f"We currently do not have sufficient {type_name} capacity in the Availability Zone you "
                       f"requested ({zone.name}). Our system will be working on provisioning additional capacity. "
                       f"You can currently get {type_name} capacity by not specifying an Availability Zone in your "
                       f"request or choosing another zone.") from exc
    except CloudError as exc:
        error = from_cloud_error(exc)
        if error.code == "InstanceLimitExceeded":
            error.message = f"You have requested more instances ({high}) than your current instance limit allows."
        raise error from exc
    if launch.repeated:
        return _reservations(ctx, _load(ctx, [vm.id for vm in launch.vms]), None)[0]
    ctx.run_created(launch.starts, launch.together)
    # The answer is built from the rows the launch created (read back by it, or as stored), with what they
    # refer to loaded in bulk: AWS answers pending at once, whatever the jobs have done meanwhile.
    vms = sorted(launch.vms, key=lambda vm: vm.id)
    cloud.vms.load_for_listing(vms)
    return _reservation(ctx, vms, {}, state="pending")


def _named_image(ctx: Context, image_id: str):
    """The template an ImageId names; None for a public AMI of the catalogue (emulator mode), and for an id that
    names no image at all when, in emulator mode without AMI validation, such a launch runs on a stand-in (see
    :func:`_stand_in`)."""
    if ctx.emulator and public_images.find(ctx.region, image_id) is not None:
        return None
    prefix = uuid_prefix_of("Template", image_id)
    template = ctx.cloud.lookup_prefix("Template", prefix, ctx.caller)
    if template is not None and template.removed is None and not template.is_iso:
        return template
    if ctx.stand_in_images and template is None and ctx.cloud.lookup_prefix("Template", prefix) is None:
        return None
    raise not_found("Template", image_id)


def _stand_in(ctx: Context, image_id: str, zone):
    """The template a launch from a public AMI of the catalogue or an unknown AMI runs on in ``zone``, and the
    notes its VMs keep: the id it was given, which the instances report as their image (moto launches any
    well-formed AMI id so), with the public AMI's facts."""
    stand_in = ctx.cloud.templates.stand_in(zone)
    if stand_in is None:
        raise not_found("Template", image_id)
    return stand_in, {NAMED_IMAGE: image_id}


def _launch_details(ctx: Context, args: dict, request: LaunchRequest) -> None:
    """The rest of a launch's parameters: user data (base64-encoded here when it is not yet), the root
    disk size, security groups and the instances' tags."""
    from ec2bridge.actions.tags import tag_map

    user_data = args.get("UserData")
    if user_data is not None:
        try:
            base64.b64decode(user_data, validate=True)
        except (binascii.Error, ValueError):
            user_data = base64.b64encode(user_data.encode()).decode()
    request.user_data = user_data
    request.root_disk_size_gb = next((m["Ebs"]["VolumeSize"] for m in args.get("BlockDeviceMappings") or []
                                      if (m.get("Ebs") or {}).get("VolumeSize")), None)
    request.security_groups = _launch_groups(ctx, args)
    for tagging in args.get("TagSpecifications") or []:
        if tagging.get("ResourceType") == "instance":
            request.tags.update(tag_map(tagging.get("Tags")))


def _launch_groups(ctx: Context, args: dict) -> list:
    """SecurityGroupIds / SecurityGroups, also where awscli moves them (NetworkInterfaces.N.Groups)."""
    from ec2bridge.actions.securitygroups import find

    ids = list(args.get("SecurityGroupIds") or [])
    for interface in args.get("NetworkInterfaces") or []:
        ids += interface.get("Groups") or []
    groups = [find(ctx, group_id_=i) for i in dict.fromkeys(ids)]
    groups += [find(ctx, name=n) for n in dict.fromkeys(args.get("SecurityGroups") or [])]
    return list({g.id: g for g in groups}.values())


def _zone(ctx: Context, name: str | None):
    zones = _region_zones(ctx)
    if name is None:
        if not zones:
            raise Ec2Error("Unsupported", f"Region {ctx.region} has no availability zone")
        return zones[0]
    for zone in zones:
        if zone.name == name:
            return zone
    raise Ec2Error("InvalidParameterValue", f"Invalid availability zone: [{name}]")


# ------------------------------------------------------------- describe

def _groups(item: dict, field: str) -> list:
    return [g[field] for g in item["SecurityGroups"]]


def _nics(read):
    """A filter over the instance's network interfaces: any interface may match."""
    return lambda item: [read(nic) for nic in item["NetworkInterfaces"]]


def _disks(read):
    return lambda item: [read(disk) for disk in item["BlockDeviceMappings"]]


# Every DescribeInstances filter, read from the instance item (``_reservation`` and ``_owner`` are added
# from its reservation while matching). A member the instance does not have matches no value.
FILTERS = FilterSet({
    "architecture": lambda i: i["Architecture"],
    "availability-zone": lambda i: i["Placement"]["AvailabilityZone"],
    "block-device-mapping.attach-time": _disks(lambda d: iso_time(d["Ebs"]["AttachTime"])),
    "block-device-mapping.delete-on-termination": _disks(lambda d: d["Ebs"]["DeleteOnTermination"]),
    "block-device-mapping.device-name": _disks(lambda d: d["DeviceName"]),
    "block-device-mapping.status": _disks(lambda d: d["Ebs"]["Status"]),
    "block-device-mapping.volume-id": _disks(lambda d: d["Ebs"]["VolumeId"]),
    "client-token": lambda i: i["ClientToken"] or None,
    "cpu-options.core-count": lambda i: i["CpuOptions"]["CoreCount"],
    "cpu-options.threads-per-core": lambda i: i["CpuOptions"]["ThreadsPerCore"],
    "dns-name": lambda i: i.get("PublicDnsName") or None,
    "ebs-optimized": lambda i: i["EbsOptimized"],
    "ena-support": lambda i: i["EnaSupport"],
    "group-id": lambda i: _groups(i, "GroupId"),
    "group-name": lambda i: _groups(i, "GroupName"),
    "hypervisor": lambda i: i["Hypervisor"],
    "image-id": lambda i: i["ImageId"],
    "instance-id": lambda i: i["InstanceId"],
    "instance-state-code": lambda i: i["State"]["Code"],
    "instance-state-name": lambda i: i["State"]["Name"],
    "instance-type": lambda i: i["InstanceType"],
    "instance.group-id": lambda i: _groups(i, "GroupId"),
    "instance.group-name": lambda i: _groups(i, "GroupName"),
    "ip-address": lambda i: i.get("PublicIpAddress"),
    "key-name": lambda i: i.get("KeyName"),
    "launch-index": lambda i: i["AmiLaunchIndex"],
    "launch-time": lambda i: iso_time(i["LaunchTime"]),
    "monitoring-state": lambda i: i["Monitoring"]["State"],
    "network-interface.addresses.primary": _nics(lambda n: [a["Primary"] for a in n["PrivateIpAddresses"]]),
    "network-interface.addresses.private-ip-address":
        _nics(lambda n: [a["PrivateIpAddress"] for a in n["PrivateIpAddresses"]]),
    "network-interface.attachment.attach-time": _nics(lambda n: iso_time(n["Attachment"]["AttachTime"])),
    "network-interface.attachment.attachment-id": _nics(lambda n: n["Attachment"]["AttachmentId"]),
    "network-interface.attachment.delete-on-termination":
        _nics(lambda n: n["Attachment"]["DeleteOnTermination"]),
    "network-interface.attachment.device-index": _nics(lambda n: n["Attachment"]["DeviceIndex"]),
    "network-interface.attachment.network-card-index": _nics(lambda n: n["Attachment"]["NetworkCardIndex"]),
    "network-interface.attachment.status": _nics(lambda n: n["Attachment"]["Status"]),
    "network-interface.description": _nics(lambda n: n["Description"] or None),
    "network-interface.group-id": _nics(lambda n: [g["GroupId"] for g in n["Groups"]]),
    "network-interface.group-name": _nics(lambda n: [g["GroupName"] for g in n["Groups"]]),
    "network-interface.interface-type": _nics(lambda n: n["InterfaceType"]),
    "network-interface.mac-address": _nics(lambda n: n["MacAddress"]),
    "network-interface.network-interface-id": _nics(lambda n: n["NetworkInterfaceId"]),
    "network-interface.owner-id": _nics(lambda n: n["OwnerId"]),
    "network-interface.private-dns-name": _nics(lambda n: n["PrivateDnsName"]),
    "network-interface.source-dest-check": _nics(lambda n: n["SourceDestCheck"]),
    "network-interface.status": _nics(lambda n: n["Status"]),
    "owner-id": lambda i: i["_owner"],
    "placement-group-name": lambda i: i["Placement"].get("GroupName") or None,
    "platform": lambda i: i.get("Platform"),
    "platform-details": lambda i: i["PlatformDetails"],
    "private-dns-name": lambda i: i["PrivateDnsName"] or None,
    "private-ip-address": lambda i: i.get("PrivateIpAddress"),
    "product-code": lambda i: [p["ProductCodeId"] for p in i["ProductCodes"]],
    "reservation-id": lambda i: i["_reservation"],
    "root-device-name": lambda i: i["RootDeviceName"],
    "root-device-type": lambda i: i["RootDeviceType"],
    "source-dest-check": lambda i: i["SourceDestCheck"],
    "state-reason-code": lambda i: (i.get("StateReason") or {}).get("Code"),
    "subnet-id": lambda i: i.get("SubnetId"),
    "tenancy": lambda i: i["Placement"]["Tenancy"],
    "usage-operation": lambda i: i["UsageOperation"],
    "virtualization-type": lambda i: i["VirtualizationType"],
    "vpc-id": lambda i: i.get("VpcId"),
    # The members every instance here has alike (UNCHANGING), and those it lacks (no VPC addressing, spot,
    # outposts, dedicated hosts, IAM profiles, kernels): each read as the instance shows it, matching nothing
    # where it has no value.
    "affinity": lambda i: i["Placement"].get("Affinity"),
    "availability-zone-id": lambda i: i["Placement"].get("AvailabilityZoneId"),
    "boot-mode": lambda i: i.get("BootMode"),
    "capacity-reservation-id": lambda i: i.get("CapacityReservationId"),
    "capacity-reservation-specification.capacity-reservation-preference":
        lambda i: i["CapacityReservationSpecification"]["CapacityReservationPreference"],
    "capacity-reservation-specification.capacity-reservation-target.capacity-reservation-id":
        lambda i: (i["CapacityReservationSpecification"].get("CapacityReservationTarget") or {}).get(
            "CapacityReservationId"),
    "capacity-reservation-specification.capacity-reservation-target.capacity-reservation-resource-group-arn":
        lambda i: (i["CapacityReservationSpecification"].get("CapacityReservationTarget") or {}).get(
            "CapacityReservationResourceGroupArn"),
    "current-instance-boot-mode": lambda i: i["CurrentInstanceBootMode"],
    "enclave-options.enabled": lambda i: i["EnclaveOptions"]["Enabled"],
    "hibernation-options.configured": lambda i: i["HibernationOptions"]["Configured"],
    "host-id": lambda i: i["Placement"].get("HostId"),
    "iam-instance-profile.arn": lambda i: (i.get("IamInstanceProfile") or {}).get("Arn"),
    "iam-instance-profile.id": lambda i: (i.get("IamInstanceProfile") or {}).get("Id"),
    "instance-lifecycle": lambda i: i.get("InstanceLifecycle"),
    "ipv6-address": lambda i: i.get("Ipv6Address"),
    "kernel-id": lambda i: i.get("KernelId"),
    "maintenance-options.auto-recovery": lambda i: i["MaintenanceOptions"]["AutoRecovery"],
    "metadata-options.http-endpoint": lambda i: i["MetadataOptions"]["HttpEndpoint"],
    # No separate IPv4 switch here: the IPv4 endpoint is whatever the endpoint is.
    "metadata-options.http-protocol-ipv4": lambda i: i["MetadataOptions"]["HttpEndpoint"],
    "metadata-options.http-protocol-ipv6": lambda i: i["MetadataOptions"]["HttpProtocolIpv6"],
    "metadata-options.http-put-response-hop-limit": lambda i: i["MetadataOptions"]["HttpPutResponseHopLimit"],
    "metadata-options.http-tokens": lambda i: i["MetadataOptions"]["HttpTokens"],
    "metadata-options.instance-metadata-tags": lambda i: i["MetadataOptions"]["InstanceMetadataTags"],
    "metadata-options.state": lambda i: i["MetadataOptions"]["State"],
    "network-interface.addresses.association.allocation-id": _nics(lambda n: None),
    "network-interface.addresses.association.association-id": _nics(lambda n: None),
    "network-interface.addresses.association.carrier-ip": _nics(lambda n: None),
    "network-interface.addresses.association.customer-owned-ip": _nics(lambda n: None),
    "network-interface.addresses.association.ip-owner-id": _nics(lambda n: None),
    "network-interface.addresses.association.public-dns-name": _nics(lambda n: None),
    "network-interface.addresses.association.public-ip": _nics(lambda n: None),
    "network-interface.addresses.private-dns-name":
        _nics(lambda n: [a["PrivateDnsName"] for a in n["PrivateIpAddresses"]]),
    "network-interface.association.allocation-id": _nics(lambda n: (n.get("Association") or {}).get("AllocationId")),
    "network-interface.association.association-id":
        _nics(lambda n: (n.get("Association") or {}).get("AssociationId")),
    "network-interface.association.carrier-ip": _nics(lambda n: (n.get("Association") or {}).get("CarrierIp")),
    "network-interface.association.customer-owned-ip":
        _nics(lambda n: (n.get("Association") or {}).get("CustomerOwnedIp")),
    "network-interface.association.ip-owner-id": _nics(lambda n: (n.get("Association") or {}).get("IpOwnerId")),
    "network-interface.association.public-dns-name":
        _nics(lambda n: (n.get("Association") or {}).get("PublicDnsName")),
    "network-interface.association.public-ip": _nics(lambda n: (n.get("Association") or {}).get("PublicIp")),
    "network-interface.attachment.instance-id": lambda i: [i["InstanceId"] for _ in i["NetworkInterfaces"]],
    "network-interface.attachment.instance-owner-id": lambda i: [n["OwnerId"] for n in i["NetworkInterfaces"]],
    "network-interface.availability-zone":
        lambda i: [i["Placement"]["AvailabilityZone"] for _ in i["NetworkInterfaces"]],
    "network-interface.deny-all-igw-traffic": _nics(lambda n: None),
    "network-interface.ipv4-prefixes.ipv4-prefix":
        _nics(lambda n: [p["Ipv4Prefix"] for p in n.get("Ipv4Prefixes") or []]),
    "network-interface.ipv6-address": _nics(lambda n: [a["Ipv6Address"] for a in n["Ipv6Addresses"]]),
    "network-interface.ipv6-addresses.ipv6-address": _nics(lambda n: [a["Ipv6Address"] for a in n["Ipv6Addresses"]]),
    "network-interface.ipv6-addresses.is-primary-ipv6":
        _nics(lambda n: [a.get("IsPrimaryIpv6") for a in n["Ipv6Addresses"]]),
    "network-interface.ipv6-native": _nics(lambda n: False),  # every interface here has an IPv4 address
    "network-interface.ipv6-prefixes.ipv6-prefix":
        _nics(lambda n: [p["Ipv6Prefix"] for p in n.get("Ipv6Prefixes") or []]),
    "network-interface.operator.managed": _nics(lambda n: n["Operator"]["Managed"]),
    "network-interface.operator.principal": _nics(lambda n: n["Operator"].get("Principal")),
    "network-interface.outpost-arn": _nics(lambda n: None),
    "network-interface.private-ip-address": _nics(lambda n: n["PrivateIpAddress"]),
    "network-interface.public-dns-name": _nics(lambda n: (n.get("Association") or {}).get("PublicDnsName")),
    "network-interface.requester-id": _nics(lambda n: None),
    "network-interface.requester-managed": _nics(lambda n: False),  # made at launch, by the instance's owner
    "network-interface.subnet-id": _nics(lambda n: n.get("SubnetId")),
    "network-interface.tag-key": _nics(lambda n: []),  # an instance's interface carries no tags here
    "network-interface.tag-value": _nics(lambda n: []),
    "network-interface.vpc-id": _nics(lambda n: n.get("VpcId")),
    "network-performance-options.bandwidth-weighting": lambda i: i["NetworkPerformanceOptions"]["BandwidthWeighting"],
    "operator.managed": lambda i: i["Operator"]["Managed"],
    "operator.principal": lambda i: i["Operator"].get("Principal"),
    "outpost-arn": lambda i: i.get("OutpostArn"),
    "placement-partition-number": lambda i: i["Placement"].get("PartitionNumber"),
    "platform": lambda i: i.get("Platform"),
    "private-dns-name-options.enable-resource-name-dns-a-record":
        lambda i: i["PrivateDnsNameOptions"]["EnableResourceNameDnsARecord"],
    "private-dns-name-options.enable-resource-name-dns-aaaa-record":
        lambda i: i["PrivateDnsNameOptions"]["EnableResourceNameDnsAAAARecord"],
    "private-dns-name-options.hostname-type": lambda i: i["PrivateDnsNameOptions"]["HostnameType"],
    "product-code.type": lambda i: [p.get("ProductCodeType") for p in i["ProductCodes"]],
    "ramdisk-id": lambda i: i.get("RamdiskId"),
    "reason": lambda i: i["StateTransitionReason"] or None,
    "requester-id": lambda i: i.get("RequesterId"),
    "spot-instance-request-id": lambda i: i.get("SpotInstanceRequestId"),
    "state-reason-message": lambda i: (i.get("StateReason") or {}).get("Message"),
    "tpm-support": lambda i: i.get("TpmSupport"),
    "usage-operation-update-time": lambda i: iso_time(i["UsageOperationUpdateTime"]),
}, tags=lambda i: i["Tags"])


@action("DescribeInstances")
def describe_instances(ctx: Context, args: dict) -> dict:
    """Reservations per launch request; InstanceIds; every filter AWS documents for instances (see below)."""
    cloud, caller = ctx.cloud, ctx.caller
    FILTERS.check(args.get("Filters"))  # unknown names fail at once
    wanted = args.get("InstanceIds")
    if wanted:
        found = {vm.id: vm for vm in (find_owned(ctx, "VirtualMachine", instance_id) for instance_id in wanted)}
        vms = _load(ctx, list(found), named=True)
        return paginate(args, _reservations(ctx, vms, args.get("Filters")), "Reservations", bounds=(5, 1000),
                        exclusive="InstanceIds")
    # Filters the database can answer (exact instance ids and tag values) narrow the fleet by index;
    # the rest are matched on the built instances.
    indexed, remaining = _indexed_filters(args.get("Filters") or [])
    scope = cloud.accounts.scope(caller)
    keys = cloud.vms.list_keys(caller, scope=scope, include_destroyed=True, zones=_region_zones(ctx), **indexed)
    if remaining:
        vms = _load(ctx, [k[0] for k in keys])
        return paginate(args, _reservations(ctx, vms, remaining), "Reservations", bounds=(5, 1000))
    # Nothing left to match: page over the launch groups first, then build only the page's instances.
    groups: dict[str, list[int]] = {}
    for vm_id, group, vm_uuid in keys:
        groups.setdefault(group or vm_uuid, []).append(vm_id)
    page = paginate(args, list(groups.values()), "Reservations", bounds=(5, 1000))
    page["Reservations"] = _reservations(ctx, _load(ctx, [i for ids in page["Reservations"] for i in ids]), None)
    return page


describe_instances.filters = FILTERS  # listed in the coverage table


def _indexed_filters(filters: list[dict]) -> tuple[dict, list[dict]]:
    """Split the filters into list arguments for the VM manager and the rest."""
    indexed: dict = {}
    remaining = []
    for flt in filters:
        name, values = flt.get("Name") or "", flt.get("Values") or []
        if name.startswith("tag:") and is_exact(values):
            indexed.setdefault("tags", {})[name[4:]] = values
        elif name == "tag-key" and is_exact(values) and len(values) == 1:
            indexed.setdefault("tags", {}).setdefault(values[0], [])
        elif name == "instance-id" and is_exact(values) and "uuid_prefixes" not in indexed:
            prefixes = [_prefix_or_none(v) for v in values]
            indexed["uuid_prefixes"] = [p for p in prefixes if p]
        else:
            remaining.append(flt)
    return indexed, remaining


def _prefix_or_none(instance_id: str) -> str | None:
    try:
        return uuid_prefix_of("VirtualMachine", instance_id)
    except Ec2Error:
        return None  # a malformed id in a filter matches nothing (AWS does not reject it)


def _region_zones(ctx: Context) -> list:
    _, zones = ctx.cloud.infra.list_zones(ctx.caller)
    return [z for z in zones if z.region.name == ctx.region]


def _load(ctx: Context, ids: list[int], *, named: bool = False) -> list:
    """The VMs with these row ids, with everything an instance shows loaded in bulk, oldest first.
    ``named``: the caller gave their ids, so an admin sees them beyond its own account, as in a listing by id."""
    vms = []
    scope = ctx.cloud.accounts.scope(ctx.caller, id_given=named)
    for start in range(0, len(ids), 900):  # below SQLite's bound-parameter limit
        _, chunk = ctx.cloud.vms.list(ctx.caller, scope=scope, include_destroyed=True,
                                      row_ids=ids[start:start + 900])
        vms += chunk
    return sorted(vms, key=lambda vm: vm.id)


def _reservations(ctx: Context, vms: list, filters: list[dict] | None) -> list[dict]:
    """The VMs as EC2 reservations (one per launch request), keeping the instances ``filters`` match."""
    busy = _busy(ctx, vms)
    groups: dict[str, list] = {}
    for vm in vms:
        groups.setdefault(vm.launch_group or vm.uuid, []).append(vm)
    reservations = []
    for members in groups.values():
        reservation = _reservation(ctx, members, busy)
        if filters:
            for item in reservation["Instances"]:
                item["_reservation"], item["_owner"] = reservation["ReservationId"], reservation["OwnerId"]
            reservation["Instances"] = FILTERS.apply(reservation["Instances"], filters)
            for item in reservation["Instances"]:
                del item["_reservation"], item["_owner"]
        if reservation["Instances"]:
            reservations.append(reservation)
    return reservations


@action("DescribeInstanceStatus")
def describe_instance_status(ctx: Context, args: dict) -> dict:
    """Running instances (all with IncludeAllInstances), every filter AWS documents (see below); checks pass."""
    STATUS_FILTERS.check(args.get("Filters"))  # unknown names fail at once
    wanted = args.get("InstanceIds")
    if wanted:
        vms = [find_owned(ctx, "VirtualMachine", instance_id) for instance_id in wanted]
    else:
        _, vms = ctx.cloud.vms.list(ctx.caller, scope=ctx.cloud.accounts.scope(ctx.caller))
        vms = [vm for vm in reversed(vms) if vm.zone.region.name == ctx.region]
    busy = _busy(ctx, vms)
    items = []
    for vm in vms:
        state = state_of(ctx, vm, busy)
        if state != "running" and not args.get("IncludeAllInstances"):
            continue
        checked = "ok" if state == "running" else "not-applicable"
        detail = [{"Name": "reachability", "Status": "passed"}] if state == "running" else []
        items.append({"InstanceId": ec2_id("VirtualMachine", vm.uuid), "AvailabilityZone": vm.zone.name,
                      "InstanceState": _state(state), "Operator": {"Managed": False},
                      "InstanceStatus": {"Status": checked, "Details": detail},
                      "SystemStatus": {"Status": checked, "Details": detail},
                      "AttachedEbsStatus": {"Status": checked, "Details": detail}})
    items = STATUS_FILTERS.apply(items, args.get("Filters"))
    return paginate(args, items, "InstanceStatuses", bounds=(5, 1000), exclusive="InstanceIds")


def _reachability(check: str):
    return lambda i: [d["Status"] for d in i[check]["Details"] if d["Name"] == "reachability"]


def _event(member: str):
    """No scheduled event is ever planned for an instance here: the event filters match nothing."""
    return lambda i: [e.get(member) for e in i.get("Events") or []]


# Every DescribeInstanceStatus filter AWS documents, read from the status item.
STATUS_FILTERS = FilterSet({
    "application-status.status": lambda i: (i.get("ApplicationStatus") or {}).get("Status"),
    "attached-ebs-status.status": lambda i: i["AttachedEbsStatus"]["Status"],
    "availability-zone": lambda i: i["AvailabilityZone"],
    "availability-zone-id": lambda i: i.get("AvailabilityZoneId"),
    "event.code": _event("Code"),
    "event.description": _event("Description"),
    "event.instance-event-id": _event("InstanceEventId"),
    "event.not-after": _event("NotAfter"),
    "event.not-before": _event("NotBefore"),
    "event.not-before-deadline": _event("NotBeforeDeadline"),
    "instance-state-code": lambda i: i["InstanceState"]["Code"],
    "instance-state-name": lambda i: i["InstanceState"]["Name"],
    "instance-status.reachability": _reachability("InstanceStatus"),
    "instance-status.status": lambda i: i["InstanceStatus"]["Status"],
    "operator.managed": lambda i: i["Operator"]["Managed"],
    "operator.principal": lambda i: i["Operator"].get("Principal"),
    "system-status.reachability": _reachability("SystemStatus"),
    "system-status.status": lambda i: i["SystemStatus"]["Status"],
})
describe_instance_status.filters = STATUS_FILTERS  # listed in the coverage table


@action("GetConsoleOutput")
def get_console_output(ctx: Context, args: dict) -> dict:
    """The hypervisor's serial console log, base64 as AWS returns it."""
    vm = find_owned(ctx, "VirtualMachine", args["InstanceId"])
    try:
        text = ctx.cloud.vms.console_output(ctx.caller, vm)
    except CloudError as exc:
        raise from_cloud_error(exc) from exc
    return {"InstanceId": args["InstanceId"], "Timestamp": vm.state_changed,
            "Output": base64.b64encode(text.encode()).decode()}


# ------------------------------------------------------------ lifecycle

def _change(ctx: Context, args: dict, action_name: str, verb: str, work_of, target: str) -> list[dict]:
    vms = [find_owned(ctx, "VirtualMachine", instance_id) for instance_id in args["InstanceIds"]]
    busy = _busy(ctx, vms)
    changes = []
    for vm in vms:
        before = state_of(ctx, vm, busy)
        if before == "terminated" and target != "shutting-down":
            instance_id = ec2_id("VirtualMachine", vm.uuid)
            raise Ec2Error("IncorrectInstanceState", f"The instance '{instance_id}' is not in a state "
                                                     "from which it can be " + verb)
        after = before
        if before not in (target, _END[target]) and not (target == "shutting-down" and before == "terminated"):
            try:
                work = work_of(vm)
            except CloudError as exc:
                raise from_cloud_error(exc) from exc
            ctx.run(action_name, work, vm)
            after = target
        changes.append({"InstanceId": ec2_id("VirtualMachine", vm.uuid), "CurrentState": _state(after),
                        "PreviousState": _state(before)})
    return changes


_END = {"pending": "running", "stopping": "stopped", "shutting-down": "terminated"}


@action("StartInstances")
def start_instances(ctx: Context, args: dict) -> dict:
    """Queues a start; no-op on running instances."""
    return {"StartingInstances": _change(ctx, args, "StartInstances", "started",
                                         lambda vm: ctx.cloud.vms.start_work(ctx.caller, vm), "pending")}


@action("StopInstances")
def stop_instances(ctx: Context, args: dict) -> dict:
    """Queues a stop (Force = hard power-off); no-op on stopped instances."""
    forced = bool(args.get("Force"))
    return {"StoppingInstances": _change(ctx, args, "StopInstances", "stopped",
                                         lambda vm: ctx.cloud.vms.stop_work(ctx.caller, vm, forced), "stopping")}


@action("TerminateInstances")
def terminate_instances(ctx: Context, args: dict) -> dict:
    """Destroys the VMs (shutting-down, then terminated: listed for an hour, holding no image or group); idempotent."""
    return {"TerminatingInstances": _change(ctx, args, "TerminateInstances", "terminated",
                                            lambda vm: ctx.cloud.vms.destroy_work(
                                                ctx.caller, vm, retention_seconds=TERMINATED_VISIBLE_SECONDS),
                                            "shutting-down")}


@action("RebootInstances")
def reboot_instances(ctx: Context, args: dict) -> None:
    """Queues a reboot of running instances."""
    for instance_id in args["InstanceIds"]:
        vm = find_owned(ctx, "VirtualMachine", instance_id)
        try:
            work = ctx.cloud.vms.reboot_work(ctx.caller, vm)
        except CloudError as exc:
            raise from_cloud_error(exc) from exc
        ctx.run("RebootInstances", work, vm)
    return None


@action("DescribeInstanceAttribute")
def describe_instance_attribute(ctx: Context, args: dict) -> dict:
    """instanceType, userData, disableApiTermination, instanceInitiatedShutdownBehavior, rootDeviceName."""
    vm = find_owned(ctx, "VirtualMachine", args["InstanceId"])
    values = {
        "instanceType": ("InstanceType", {"Value": vm.service_offering.instance_type or vm.service_offering.name}),
        "userData": ("UserData", {"Value": vm.user_data} if vm.user_data else {}),
        "disableApiTermination": ("DisableApiTermination", {"Value": False}),
        "instanceInitiatedShutdownBehavior": ("InstanceInitiatedShutdownBehavior", {"Value": "stop"}),
        "rootDeviceName": ("RootDeviceName", {"Value": _image_facts(ctx, _named_image_of(vm))["RootDeviceName"]}),
        "ebsOptimized": ("EbsOptimized", {"Value": False}),
    }
    attribute = args["Attribute"]
    if attribute not in values:
        raise Ec2Error("InvalidParameterValue", f"Value ({attribute}) for parameter attribute is invalid.")
    key, value = values[attribute]
    return {"InstanceId": args["InstanceId"], key: value}


@action("ModifyInstanceAttribute")
def modify_instance_attribute(ctx: Context, args: dict) -> None:
    """InstanceType (instance stopped: scales the VM) and UserData; the old Attribute/Value form too."""
    vm = find_owned(ctx, "VirtualMachine", args["InstanceId"])
    attribute, value = args.get("Attribute"), args.get("Value")
    instance_type = (args.get("InstanceType") or {}).get("Value") or (value if attribute == "instanceType" else None)
    user_data = (args.get("UserData") or {}).get("Value")
    if user_data is None and attribute == "userData":
        user_data = value
    if instance_type is None and user_data is None:
        raise Ec2Error("UnsupportedOperation", "Only instanceType and userData can be modified on this cloud")
    try:
        if instance_type is not None:
            if state_of(ctx, vm, _busy(ctx, [vm])) != "stopped":
                raise Ec2Error("IncorrectInstanceState", f"The instance '{args['InstanceId']}' is not in the "
                                                         "'stopped' state.")
            offering = offering_for(ctx, instance_type)
            if offering.id != vm.service_offering_id:
                ctx.cloud.vms.scale(ctx.caller, vm, offering)
        if user_data is not None:
            raw = user_data if isinstance(user_data, bytes) else user_data.encode()
            ctx.cloud.vms.update(ctx.caller, vm, user_data=base64.b64encode(raw).decode())
    except CloudError as exc:
        raise from_cloud_error(exc) from exc
    return None
