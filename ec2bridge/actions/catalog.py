"""Images and account attributes."""
from __future__ import annotations

from backends.api import CloudError
from ec2bridge.actions import Context, action, public_images
from ec2bridge.actions.filters import FilterSet
from ec2bridge.actions.lookup import find_owned
from ec2bridge.actions.paging import paginate
from ec2bridge.errors import Ec2Error, dependent_id, from_cloud_error, not_found
from ec2bridge.ids import ec2_id, uuid_prefix_of

GiB = 1 << 30


@action("DescribeImages")
def describe_images(ctx: Context, args: dict) -> dict:
    """Executable templates (featured ones as the `amazon` alias), in emulator mode AWS's public AMIs too; Owners, ImageIds, ExecutableUsers, filters, MaxResults/NextToken."""
    IMAGE_FILTERS.check(args.get("Filters"))  # unknown names fail at once
    owner_number = ctx.cloud.accounts.get_caller_account(ctx.caller).owner_number
    _, usable = ctx.cloud.templates.list(ctx.caller, is_iso=False, filter="executable")
    _, own = ctx.cloud.templates.list(ctx.caller, is_iso=False, filter="self")  # incl. still downloading
    images: dict[str, dict] = {}
    for copy in usable + own:
        if copy.zone.region.name != ctx.region:
            continue
        images.setdefault(copy.template.uuid, image_of(copy.template, copy))
    items = list(images.values())
    if ctx.emulator:
        items += public_images.images(ctx.region)
    owners = args.get("Owners")
    if owners:
        def owned(item):
            return any(o == item["OwnerId"] or (o == "self" and item["OwnerId"] == owner_number)
                       or (o in ("amazon", "aws-marketplace") and item["ImageOwnerAlias"] == o)
                       for o in owners)
        items = [i for i in items if owned(i)]
    users = args.get("ExecutableUsers")
    if users:
        # Images those users may launch by an explicit grant, or public ones for ``all``: this cloud grants
        # launch permissions to no account, so only ``all`` finds any.
        items = [i for i in items if "all" in users and i["Public"]]
    wanted = args.get("ImageIds")
    if wanted:
        for image_id in wanted:
            if not (ctx.emulator and public_images.find(ctx.region, image_id)):
                uuid_prefix_of("Template", image_id)
        missing = sorted(set(wanted) - {i["ImageId"] for i in items})
        if missing:
            raise not_found("Template", missing[0])
        items = [i for i in items if i["ImageId"] in wanted]
    return paginate(args, IMAGE_FILTERS.apply(items, args.get("Filters")), "Images", bounds=(1, None))


def _image_disks(read):
    return lambda item: [read(disk) for disk in item["BlockDeviceMappings"]]


# Every DescribeImages filter AWS documents that an image here has, read from the image item.
IMAGE_FILTERS = FilterSet({
    "architecture": lambda i: i["Architecture"],
    "block-device-mapping.delete-on-termination": _image_disks(lambda d: d["Ebs"]["DeleteOnTermination"]),
    "block-device-mapping.device-name": _image_disks(lambda d: d["DeviceName"]),
    "block-device-mapping.encrypted": _image_disks(lambda d: d["Ebs"]["Encrypted"]),
    "block-device-mapping.snapshot-id": _image_disks(lambda d: d["Ebs"].get("SnapshotId")),
    "block-device-mapping.volume-size": _image_disks(lambda d: d["Ebs"]["VolumeSize"]),
    "block-device-mapping.volume-type": _image_disks(lambda d: d["Ebs"]["VolumeType"]),
    "creation-date": lambda i: i["CreationDate"],
    "description": lambda i: i["Description"],
    "ena-support": lambda i: i.get("EnaSupport"),
    "hypervisor": lambda i: i["Hypervisor"],
    "image-id": lambda i: i["ImageId"],
    "image-type": lambda i: i["ImageType"],
    "is-public": lambda i: i["Public"],
    "kernel-id": lambda i: i.get("KernelId"),
    "manifest-location": lambda i: i["ImageLocation"],
    "name": lambda i: i["Name"],
    "owner-alias": lambda i: i.get("ImageOwnerAlias"),
    "owner-id": lambda i: i["OwnerId"],
    "platform": lambda i: i.get("Platform"),
    "platform-details": lambda i: i["PlatformDetails"],
    "product-code": lambda i: [p["ProductCodeId"] for p in i["ProductCodes"]],
    "ramdisk-id": lambda i: i.get("RamdiskId"),
    "root-device-name": lambda i: i["RootDeviceName"],
    "root-device-type": lambda i: i["RootDeviceType"],
    "state": lambda i: i["State"],
    "usage-operation": lambda i: i["UsageOperation"],
    "virtualization-type": lambda i: i["VirtualizationType"],
}, tags=lambda i: i["Tags"])
describe_images.filters = IMAGE_FILTERS  # listed in the coverage table


def image_of(template, copy=None) -> dict:
    ready = copy is None or copy.download_state == "DOWNLOADED"
    os_name = template.os_type.name if template.os_type_id else ""
    size = max(1, -(-(copy.size if copy is not None else 0) // GiB))
    return {
        "ImageId": ec2_id("Template", template.uuid), "Name": template.name, "Description": template.display_text,
        "ImageLocation": template.url or template.name, "State": "available" if ready else "pending",
        "OwnerId": template.account.owner_number,
        "ImageOwnerAlias": "amazon" if template.is_featured else None,
        "CreationDate": template.created.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "Public": template.is_public,
        "Architecture": "x86_64", "ImageType": "machine", "Hypervisor": "xen",
        "VirtualizationType": "hvm", "RootDeviceType": "ebs", "RootDeviceName": "/dev/xvda",
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda",
                                 "Ebs": {"DeleteOnTermination": True, "VolumeSize": size, "VolumeType": "gp2",
                                         "Encrypted": False}}],
        "EnaSupport": True, "Platform": "windows" if "Windows" in os_name else None,
        "PlatformDetails": "Windows" if "Windows" in os_name else "Linux/UNIX",
        "UsageOperation": "RunInstances", "ProductCodes": [], "Tags": [],
    }


@action("DescribeAccountAttributes")
def describe_account_attributes(ctx: Context, args: dict) -> dict:
    """supported-platforms (EC2-VPC), default-vpc (none), max-instances (the account's VM limit)."""
    account = ctx.cloud.accounts.get_caller_account(ctx.caller)
    limit = ctx.cloud.limits.account_limit(account, 0)
    values = {"supported-platforms": ["VPC"], "default-vpc": ["none"],
              "max-instances": [str(limit if limit >= 0 else 10000)],
              "vpc-max-security-groups-per-interface": ["5"], "max-elastic-ips": ["0"],
              "vpc-max-elastic-ips": ["0"]}
    wanted = args.get("AttributeNames") or list(values)
    return {"AccountAttributes": [{"AttributeName": name, "AttributeValues": [{"AttributeValue": v}
                                                                               for v in values[name]]}
                                  for name in wanted if name in values]}


@action("RegisterImage")
def register_image(ctx: Context, args: dict) -> dict:
    """From a URL in ImageLocation (downloaded into every zone of the region); pending until ready."""
    location = args.get("ImageLocation")
    if not location:
        raise Ec2Error("MissingParameter", "The request must contain the parameter ImageLocation (an image URL)")
    hypervisors = ctx.cloud.hypervisors()
    hypervisor = "Simulator" if "Simulator" in hypervisors else hypervisors[0]
    fmt = "RAW" if location.lower().endswith((".raw", ".img")) else "QCOW2"
    template = ctx.cloud.templates.register(
        ctx.caller, name=args["Name"], display_text=args.get("Description") or args["Name"], url=location,
        format=fmt, hypervisor=hypervisor, is_dynamically_scalable=True, ssh_key_enabled=True,
        download=not ctx.rehearsal)
    return {"ImageId": ec2_id("Template", template.uuid)}


@action("DeregisterImage")
def deregister_image(ctx: Context, args: dict) -> dict:
    """Removes the caller's image; refused while instances not terminated use it (naming one)."""
    if ctx.emulator and public_images.find(ctx.region, args["ImageId"]) is not None:
        # AWS's public AMIs are Amazon's (moto lets an account drop its copy; AWS refuses as here).
        raise Ec2Error("AuthFailure", f"Not authorized for image:{args['ImageId']}")
    template = find_owned(ctx, "Template", args["ImageId"])
    try:
        ctx.cloud.templates.delete(ctx.caller, template)
    except CloudError as exc:
        if exc.kind == "PermissionDenied":
            raise Ec2Error("AuthFailure", f"Not authorized for image:{args['ImageId']}") from exc
        if exc.kind == "ResourceInUse":
            raise Ec2Error("InvalidAMIID.InUse", f"The image {args['ImageId']} is in use by "
                                                 f"{dependent_id(exc) or 'instances'}") from exc
        raise from_cloud_error(exc) from exc
    return {"Return": True}
