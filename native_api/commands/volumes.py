"""Volume commands: data volumes created, attached, detached, resized and deleted; every volume listed."""
from __future__ import annotations

from backends.api import InvalidParameterValue
from native_api import fields as f
from native_api.commands.jobs import submit
from native_api.commands.tags import tag_filter
from native_api.registry import LIST, SUCCESS, command, scope_params
from native_api.views.vms import Volume


def _volume_job(call, volume, work, *, vm=None, creates: str | None = None):
    """A volume's job; one touching a VM runs in that VM's queue, after the VM's earlier work."""
    sync_key = call.cloud.vms.sync_key(vm) if vm is not None else None
    return submit(call, work, instance=volume, instance_type="Volume", sync_key=sync_key, creates=creates)


@command("createVolume", params={
    "name": f.String("the name of the disk volume"),
    "zoneid": f.Uuid("Zone", "the ID of the availability zone (needed: volumes from snapshots come later)"),
    "diskofferingid": f.Uuid("DiskOffering", "the ID of the disk offering. Either diskOfferingId or snapshotId "
                                             "must be passed in."),
    "size": f.Long("Arbitrary volume size in GB (for a disk offering of custom size)", minimum=0),
    "account": f.String("the account associated with the disk volume. Must be used with the domainId parameter."),
    "domainid": f.Uuid("Domain", "the domain ID associated with the disk offering. If used with the account "
                                 "parameter returns the disk volume associated with the account for the specified "
                                 "domain."),
}, isasync=True, creates=True, response=Volume,
    description="Creates a disk volume from a disk offering. This disk volume must still be attached to a virtual "
                "machine to make use of it.")
def create_volume(call):
    cloud, caller = call.cloud, call.caller
    owner = cloud.accounts.owner_for(caller, call.get("account"), call.get("domainid"))
    volume = cloud.volumes.create(caller, owner=owner, zone=call.get("zoneid"),
                                  disk_offering=call.get("diskofferingid"), size_gb=call.get("size"),
                                  name=call.get("name"))
    return _volume_job(call, volume, cloud.volumes.created_work(volume), creates=volume.uuid)


@command("attachVolume", params={
    "id": f.Uuid("Volume", "the ID of the disk volume", required=True),
    "virtualmachineid": f.Uuid("VirtualMachine", "the ID of the virtual machine", required=True),
    "deviceid": f.Long("the ID of the device to map the volume to the guest OS. If no deviceID is informed, the "
                       "next available deviceID will be chosen. Use 0 only for a root disk; 3 is the CD-ROM's.",
                       minimum=0),
}, isasync=True, response=Volume, description="Attaches a disk volume to a virtual machine.")
def attach_volume(call):
    volume, vm = call.params["id"], call.params["virtualmachineid"]
    work = call.cloud.volumes.attach_work(call.caller, volume, vm, call.get("deviceid"))
    return _volume_job(call, volume, work, vm=vm)


@command("detachVolume", params={
    "id": f.Uuid("Volume", "the ID of the disk volume"),
    "virtualmachineid": f.Uuid("VirtualMachine", "the ID of the virtual machine where the volume is detached from"),
    "deviceid": f.Long("the device ID on the virtual machine where volume is detached from", minimum=0),
}, isasync=True, response=Volume, description="Detaches a disk volume from a virtual machine.")
def detach_volume(call):
    volume = call.get("id")
    if volume is None:
        vm, device_id = call.get("virtualmachineid"), call.get("deviceid")
        if vm is None or device_id is None:
            raise InvalidParameterValue("Please specify either the volume id, or the virtual machine id and the "
                                        "device id")
        volume = call.cloud.volumes.attached_at(call.caller, vm, device_id)
    elif call.get("virtualmachineid") is not None or call.get("deviceid") is not None:
        raise InvalidParameterValue("Please specify either the volume id, or the virtual machine id and the "
                                    "device id, not both")
    vm, work = call.cloud.volumes.detach_work(call.caller, volume)
    return _volume_job(call, volume, work, vm=vm)


@command("resizeVolume", params={
    "id": f.Uuid("Volume", "the ID of the disk volume", required=True),
    "size": f.Long("New volume size in GB (for a disk offering of custom size)", minimum=0),
    "diskofferingid": f.Uuid("DiskOffering", "new disk offering id"),
    "shrinkok": f.Boolean("Verify OK to Shrink"),
}, isasync=True, response=Volume, description="Resizes a volume")
def resize_volume(call):
    volume = call.params["id"]
    work = call.cloud.volumes.resize_work(call.caller, volume, size_gb=call.get("size"),
                                          disk_offering=call.get("diskofferingid"),
                                          shrink_ok=call.get("shrinkok", False))
    return _volume_job(call, volume, work, vm=volume.vm if volume.vm_id is not None else None)


@command("deleteVolume", params={"id": f.Uuid("Volume", "The ID of the disk volume", required=True)},
         shape=SUCCESS, description="Deletes a detached disk volume.")
def delete_volume(call):
    call.cloud.volumes.delete(call.caller, call.params["id"])


@command("listVolumes", params={
    "id": f.Uuid("Volume", "the ID of the disk volume"),
    "ids": f.List("the IDs of the volumes, mutually exclusive with id", entity="Volume", since="4.9"),
    "name": f.String("the name of the disk volume"),
    "type": f.String("the type of disk volume"),
    "virtualmachineid": f.Uuid("VirtualMachine", "the ID of the virtual machine"),
    "zoneid": f.Uuid("Zone", "the ID of the availability zone"),
    "podid": f.Uuid("Pod", "the pod id the disk volume belongs to", admin_only=True),
    "clusterid": f.Uuid("Cluster", "the cluster id the disk volume belongs to", admin_only=True),
    "hostid": f.Uuid("Host", "list volumes on specified host", admin_only=True),
    "state": f.String("state of the volume. Possible values are: Ready, Allocated, Destroy, Expunging, "
                      "Expunged."),
    "tags": f.Map("List resources by tags (key/value pairs)"),
    **scope_params(),
}, shape=LIST, response=Volume, description="Lists all volumes.")
def list_volumes(call):
    id_given = call.get("id") is not None or bool(call.get("ids"))
    return call.cloud.volumes.list(
        call.caller, scope=call.scope(id_given=id_given), id=call.get("id"), ids=call.get("ids"), name=call.get("name"),
        volume_type=call.get("type"), vm=call.get("virtualmachineid"), zone=call.get("zoneid"), pod=call.get("podid"),
        cluster=call.get("clusterid"), host=call.get("hostid"), state=call.get("state"), any_tag=tag_filter(call),
        keyword=call.get("keyword"), **call.paging())
