"""Virtual machine commands (volumes: volumes.py)."""
from __future__ import annotations

from backends.api import InvalidParameterValue
from native_api import fields as f
from native_api.commands.jobs import schedule, submit
from native_api.commands.tags import tag_filter
from native_api.registry import ADMINS, LIST, ROOT_ONLY, SUCCESS, command, scope_params
from native_api.views.vms import VirtualMachine

VM_ID = {"id": f.Uuid("VirtualMachine", "The ID of the virtual machine", required=True)}


def _vm_job(call, vm, work):
    return submit(call, work, instance=vm, sync_key=call.cloud.vms.sync_key(vm))


@command("deployVirtualMachine", params={
    "zoneid": f.Uuid("Zone", "availability zone for the virtual machine", required=True),
    "serviceofferingid": f.Uuid("ServiceOffering", "the ID of the service offering for the virtual machine",
                                required=True),
    "templateid": f.Uuid("Template", "the ID of the template for the virtual machine", required=True),
    "name": f.String("host name for the virtual machine", length=63),
    "displayname": f.String("an optional user generated name for the virtual machine"),
    "startvm": f.Boolean("true if start vm after creating; defaulted to true if not specified"),
    "userdata": f.String("an optional binary data that can be sent to the virtual machine upon a successful "
                         "deployment. This binary data must be base64 encoded", length=1048576),
    "keypair": f.String("name of the ssh key pair used to login to the virtual machine"),
    "group": f.String("an optional group for the virtual machine"),
    "rootdisksize": f.Long("Optional field to resize root disk on deploy. Value is in GB", minimum=0),
    "hostid": f.Uuid("Host", "destination Host ID to deploy the VM to - parameter available for root admin only",
                     admin_only=True),
    "ipaddress": f.String("the ip address for default vm's network"),
    "details": f.Map("used to specify the custom parameters. 'extraconfig' is not allowed to be passed in "
                     "details", style="flat"),
    "networkids": f.List("list of network ids used by virtual machine", entity="Network"),
    "securitygroupids": f.List("comma separated list of security groups id that going to be applied to the virtual "
                               "machine. Should be passed only when vm is created from a zone with Basic Network "
                               "support. Mutually exclusive with securitygroupnames parameter",
                               entity="SecurityGroup"),
    "securitygroupnames": f.List("comma separated list of security groups names that going to be applied to the "
                                 "virtual machine. Mutually exclusive with securitygroupids parameter"),
    "account": f.String("an optional account for the virtual machine. Must be used with domainId."),
    "domainid": f.Uuid("Domain", "an optional domainId for the virtual machine. If the account parameter is "
                                 "used, domainId must also be used."),
}, isasync=True, creates=True, response=VirtualMachine,
    description="Creates and automatically starts a virtual machine based on a service offering, disk "
                "offering, and template.")
def deploy_virtual_machine(call):
    cloud, caller = call.cloud, call.caller
    owner = cloud.accounts.owner_for(caller, call.get("account"), call.get("domainid"))
    vm = cloud.vms.deploy(
        caller, zone=call.params["zoneid"], offering=call.params["serviceofferingid"],
        template=call.params["templateid"], owner=owner, name=call.get("name"),
        display_name=call.get("displayname"), user_data=call.get("userdata"), key_pair=call.get("keypair"),
        root_disk_size_gb=call.get("rootdisksize"), group=call.get("group"), host=call.get("hostid"),
        details=call.get("details"), request_ip=call.get("ipaddress"),
        security_groups=_security_groups(call, owner), job_command=call.command.name)
    if call.params.get("startvm", True):
        work = cloud.vms.start_work(caller, vm, call.get("hostid"))
    else:
        work = cloud.vms.created_work(vm)
    return schedule(call, vm.deploy_job, work, creates=vm.uuid)


def _security_groups(call, owner):
    groups = list(call.get("securitygroupids", []))
    for name in call.get("securitygroupnames", []):
        group = call.cloud.security_groups.by_name(call.caller, name, owner=owner)
        if group is None:
            raise InvalidParameterValue(f"Unable to find security group by name {name}")
        groups.append(group)
    return groups


@command("startVirtualMachine", params={
    **VM_ID,
    "hostid": f.Uuid("Host", "destination Host ID to deploy the VM to - parameter available for root admin only",
                     admin_only=True),
}, isasync=True, response=VirtualMachine, description="Starts a virtual machine.")
def start_virtual_machine(call):
    vm = call.params["id"]
    return _vm_job(call, vm, call.cloud.vms.start_work(call.caller, vm, call.get("hostid")))


@command("stopVirtualMachine", params={
    **VM_ID,
    "forced": f.Boolean("Force stop the VM (vm is marked as Stopped even when command fails to be send to the "
                        "backend, otherwise a force poweroff is attempted)."),
}, isasync=True, response=VirtualMachine, description="Stops a virtual machine.")
def stop_virtual_machine(call):
    vm = call.params["id"]
    return _vm_job(call, vm, call.cloud.vms.stop_work(call.caller, vm, call.get("forced", False)))


@command("rebootVirtualMachine", params=dict(VM_ID), isasync=True, response=VirtualMachine,
         description="Reboots a virtual machine.")
def reboot_virtual_machine(call):
    vm = call.params["id"]
    return _vm_job(call, vm, call.cloud.vms.reboot_work(call.caller, vm))


@command("destroyVirtualMachine", params={
    **VM_ID,
    "expunge": f.Boolean("If true is passed, the vm is expunged immediately. False by default."),
    "volumeids": f.List("Comma separated list of UUIDs for volumes that will be deleted", entity="Volume"),
}, isasync=True, response=VirtualMachine, description="Destroys a virtual machine.")
def destroy_virtual_machine(call):
    vm, volumes = call.params["id"], call.get("volumeids", [])
    call.cloud.volumes.check_deletable_with(call.caller, vm, volumes)
    destroy = call.cloud.vms.destroy_work(call.caller, vm, call.get("expunge", False))

    def work():
        result = destroy()
        call.cloud.volumes.delete_many(call.caller, volumes)  # detached by the destroy
        return result

    return _vm_job(call, vm, work)


@command("recoverVirtualMachine", params=dict(VM_ID), response=VirtualMachine,
         description="Recovers a virtual machine.")
def recover_virtual_machine(call):
    return call.cloud.vms.recover(call.caller, call.params["id"])


@command("expungeVirtualMachine", params=dict(VM_ID), isasync=True, shape=SUCCESS, roles=ADMINS | {"User"},
         description="Expunge a virtual machine. Once expunged, it cannot be recoverd.")
def expunge_virtual_machine(call):
    vm = call.params["id"]
    return _vm_job(call, vm, call.cloud.vms.expunge_work(call.caller, vm))


@command("migrateVirtualMachine", params={
    "virtualmachineid": f.Uuid("VirtualMachine", "the ID of the virtual machine", required=True),
    "hostid": f.Uuid("Host", "Destination Host ID to migrate VM to."),
    "autoselect": f.Boolean("Automatically select a destination host which do not require storage migration"),
}, isasync=True, roles=ROOT_ONLY, response=VirtualMachine,
    description="Attempts Migration of a VM to a different host or Root volume of the vm to a different "
                "storage pool")
def migrate_virtual_machine(call):
    vm = call.params["virtualmachineid"]
    return _vm_job(call, vm, call.cloud.vms.migrate_work(call.caller, vm, call.get("hostid")))


@command("scaleVirtualMachine", params={
    **VM_ID,
    "serviceofferingid": f.Uuid("ServiceOffering", "the ID of the service offering for the virtual machine",
                                required=True),
    "details": f.Map("name value pairs of custom parameters for cpu,memory and cpunumber. example "
                     "details[i].name=value", style="flat"),
}, isasync=True, response=VirtualMachine,
    description="Scales the virtual machine to a new service offering. This command also considers the volume "
                "size in the service offering or disk offering linked to the new service offering and apply all "
                "characteristics to the root volume.")
def scale_virtual_machine(call):
    vm = call.params["id"]
    work = call.cloud.vms.scale_work(call.caller, vm, call.params["serviceofferingid"], call.get("details"))
    return _vm_job(call, vm, work)


@command("updateVirtualMachine", params={
    **VM_ID,
    "displayname": f.String("user generated name"),
    "name": f.String("new host name of the vm. The VM has to be stopped/started for this update to take affect",
                     length=63),
    "group": f.String("group of the virtual machine"),
    "haenable": f.Boolean("true if high-availability is enabled for the virtual machine, false otherwise"),
    "userdata": f.String("an optional binary data that can be sent to the virtual machine upon a successful "
                         "deployment. This binary data must be base64 encoded", length=1048576),
    "ostypeid": f.Uuid("OsType", "the ID of the OS type that best represents this VM."),
    "isdynamicallyscalable": f.Boolean("true if VM contains XS/VMWare tools inorder to support dynamic scaling "
                                       "of VM cpu/memory"),
    "details": f.Map("Details in key/value pairs.", style="flat"),
}, response=VirtualMachine, description="Updates properties of a virtual machine. The VM has to be stopped and "
                                        "restarted for the new properties to take effect.")
def update_virtual_machine(call):
    return call.cloud.vms.update(
        call.caller, call.params["id"], display_name=call.get("displayname"), name=call.get("name"),
        group=call.get("group"), ha_enable=call.params.get("haenable"), user_data=call.get("userdata"),
        os_type=call.get("ostypeid"), is_dynamically_scalable=call.params.get("isdynamicallyscalable"),
        details=call.get("details"))


@command("listVirtualMachines", params={
    "id": f.Uuid("VirtualMachine", "the ID of the virtual machine"),
    "ids": f.List("the IDs of the virtual machines, mutually exclusive with id", entity="VirtualMachine",
                  since="4.4"),
    "name": f.String("name of the virtual machine (a substring match is not done)"),
    "state": f.String("state of the virtual machine. Possible values are: Running, Stopped, Present, Destroyed, "
                      "Expunged. Present is used for the state equal not destroyed."),
    "zoneid": f.Uuid("Zone", "the availability zone ID"),
    "templateid": f.Uuid("Template", "list vms by template"),
    "serviceofferingid": f.Uuid("ServiceOffering", "list by the service offering", since="4.4"),
    "hostid": f.Uuid("Host", "the host ID", admin_only=True),
    "details": f.List("comma separated list of vm details requested, value can be a list of [all, group, nics, "
                      "stats, secgrp, tmpl, servoff, diskoff, backoff, iso, volume, min, affgrp]."),
    "tags": f.Map("List resources by tags (key/value pairs)"),
    **scope_params(),
}, shape=LIST, response=VirtualMachine,
    description="List the virtual machines owned by the account.")
def list_virtual_machines(call):
    id_given = call.get("id") is not None or bool(call.get("ids"))
    return call.cloud.vms.list(
        call.caller, scope=call.scope(id_given=id_given), id=call.get("id"), ids=call.get("ids"), name=call.get("name"),
        state=call.get("state"), zone=call.get("zoneid"), template=call.get("templateid"),
        service_offering=call.get("serviceofferingid"), host=call.get("hostid"), any_tag=tag_filter(call),
        keyword=call.get("keyword"), **call.paging())



