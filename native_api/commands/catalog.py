"""What VMs are made from: service and disk offerings, OS types, templates and ISOs."""
from __future__ import annotations

from backends.api import InvalidParameterValue, JobResult
from native_api import fields as f
from native_api.commands.jobs import submit
from native_api.registry import ADMINS, LIST, SUCCESS, command, scope_params
from native_api.views.catalog import DiskOffering, Iso, OsCategory, OsType, ServiceOffering, Template

# ------------------------------------------------------------------ service offerings


@command("createServiceOffering", params={
    "name": f.String("the name of the service offering", required=True),
    "displaytext": f.String("The display text of the service offering, defaults to 'name'."),
    "cpunumber": f.Integer("the CPU number of the service offering", minimum=0),
    "cpuspeed": f.Integer("the CPU speed of the service offering in MHz.", minimum=0),
    "memory": f.Integer("the total memory of the service offering in MB", minimum=0),
    "storagetype": f.String("the storage type of the service offering. Values are local and shared."),
    "provisioningtype": f.String("provisioning type used to create volumes. Valid values are thin, sparse, "
                                 "fat."),
    "offerha": f.Boolean("the HA for the service offering"),
    "limitcpuuse": f.Boolean("restrict the CPU usage to committed service offering"),
    "hosttags": f.String("the host tag for this service offering."),
    "tags": f.String("the tags for this service offering."),
    "rootdisksize": f.Long("the Root disk size in GB.", minimum=0),
    "domainid": f.List("the ID of the containing domain(s), null for public offerings", entity="Domain"),
    "zoneid": f.List("the ID of the containing zone(s), null for public offerings", entity="Zone"),
    "issystem": f.Boolean("is this a system vm offering"),
    "customized": f.Boolean("Whether service offering size is custom or not"),
    "dynamicscalingenabled": f.Boolean("true if virtual machine needs to be dynamically scalable of "
                                       "cpu or memory"),
}, roles=ADMINS, response=ServiceOffering, description="Creates a service offering.")
def create_service_offering(call):
    domains, zones = call.get("domainid", []), call.get("zoneid", [])
    if len(domains) > 1 or len(zones) > 1:
        raise InvalidParameterValue("Only one domainid and one zoneid are supported per offering")
    if call.get("customized") and any(call.get(k) is not None for k in ("cpunumber", "cpuspeed", "memory")):
        raise InvalidParameterValue("For creating a custom offering cpu, cpu speed and memory all should be null")
    return call.cloud.offerings.create_service_offering(
        call.caller, name=call.params["name"], display_text=call.get("displaytext"),
        cpu_number=call.get("cpunumber"), cpu_speed=call.get("cpuspeed"), memory=call.get("memory"),
        storage_type=(call.get("storagetype") or "shared").lower(),
        provisioning_type=(call.get("provisioningtype") or "thin").lower(), offer_ha=call.get("offerha", False),
        limit_cpu_use=call.get("limitcpuuse", False), host_tags=call.get("hosttags"),
        storage_tags=call.get("tags"), root_disk_size=call.get("rootdisksize"),
        domain=domains[0] if domains else None, zone=zones[0] if zones else None,
        dynamic_scaling=call.get("dynamicscalingenabled", True), is_system=call.get("issystem", False))


@command("listServiceOfferings", params={
    "id": f.Uuid("ServiceOffering", "ID of the service offering"),
    "name": f.String("name of the service offering"),
    "domainid": f.Uuid("Domain", "the ID of the domain associated with the service offering"),
    "zoneid": f.Uuid("Zone", "id of zone disk offering is associated with"),
    "issystem": f.Boolean("is this a system vm offering"),
    "virtualmachineid": f.Uuid("VirtualMachine", "the ID of the virtual machine. Pass this in if you want to see "
                                                 "the available service offering that a virtual machine can be "
                                                 "changed to."),
    "listall": f.Boolean("If set to false, list only resources belonging to the command's caller; if set to "
                         "true - list resources that the caller is authorized to see. Default value is false"),
}, shape=LIST, response=ServiceOffering, description="Lists all available service offerings.")
def list_service_offerings(call):
    return call.cloud.offerings.list_service_offerings(
        call.caller, id=call.get("id"), name=call.get("name"), domain=call.get("domainid"),
        zone=call.get("zoneid"), is_system=call.get("issystem", False), vm=call.get("virtualmachineid"),
        keyword=call.get("keyword"), **call.paging())


@command("deleteServiceOffering", params={
    "id": f.Uuid("ServiceOffering", "the ID of the service offering", required=True),
}, roles=ADMINS, shape=SUCCESS, description="Deletes a service offering.")
def delete_service_offering(call):
    call.cloud.offerings.delete_service_offering(call.caller, call.params["id"])


# --------------------------------------------------------------------- disk offerings

@command("createDiskOffering", params={
    "name": f.String("name of the disk offering", required=True),
    "displaytext": f.String("An alternate display text of the disk offering, defaults to 'name'.", length=4096),
    "disksize": f.Long("size of the disk offering in GB (1GB = 1,073,741,824 bytes)", minimum=0),
    "customized": f.Boolean("whether disk offering size is custom or not"),
    "storagetype": f.String("the storage type of the disk offering. Values are local and shared."),
    "provisioningtype": f.String("provisioning type used to create volumes. Valid values are thin, sparse, "
                                 "fat."),
    "tags": f.String("tags for the disk offering", length=4096),
    "domainid": f.List("the ID of the containing domain(s), null for public offerings", entity="Domain"),
    "zoneid": f.List("the ID of the containing zone(s), null for public offerings", entity="Zone"),
}, roles=ADMINS, response=DiskOffering, description="Creates a disk offering.")
def create_disk_offering(call):
    domains, zones = call.get("domainid", []), call.get("zoneid", [])
    if len(domains) > 1 or len(zones) > 1:
        raise InvalidParameterValue("Only one domainid and one zoneid are supported per offering")
    return call.cloud.offerings.create_disk_offering(
        call.caller, name=call.params["name"], display_text=call.get("displaytext"),
        disk_size=call.get("disksize"), customized=call.get("customized", False),
        storage_type=(call.get("storagetype") or "shared").lower(),
        provisioning_type=(call.get("provisioningtype") or "thin").lower(), tags=call.get("tags"),
        domain=domains[0] if domains else None, zone=zones[0] if zones else None)


@command("listDiskOfferings", params={
    "id": f.Uuid("DiskOffering", "ID of the disk offering"),
    "name": f.String("name of the disk offering"),
    "domainid": f.Uuid("Domain", "the ID of the domain of the disk offering."),
    "zoneid": f.Uuid("Zone", "id of zone disk offering is associated with"),
    "listall": f.Boolean("If set to false, list only resources belonging to the command's caller; if set to "
                         "true - list resources that the caller is authorized to see. Default value is false"),
}, shape=LIST, response=DiskOffering, description="Lists all available disk offerings.")
def list_disk_offerings(call):
    return call.cloud.offerings.list_disk_offerings(
        call.caller, id=call.get("id"), name=call.get("name"), domain=call.get("domainid"),
        zone=call.get("zoneid"), keyword=call.get("keyword"), **call.paging())


@command("deleteDiskOffering", params={
    "id": f.Uuid("DiskOffering", "ID of the disk offering", required=True),
}, roles=ADMINS, shape=SUCCESS, description="Updates a disk offering.")
def delete_disk_offering(call):
    call.cloud.offerings.delete_disk_offering(call.caller, call.params["id"])


# -------------------------------------------------------------------------- OS types

@command("listOsTypes", params={
    "id": f.Uuid("OsType", "list by Os type Id"),
    "oscategoryid": f.Uuid("OsCategory", "list by Os Category id"),
    "description": f.String("list os by description"),
}, shape=LIST, response=OsType, description="Lists all supported OS types for this cloud.")
def list_os_types(call):
    return call.cloud.offerings.list_os_types(
        id=call.get("id"), category=call.get("oscategoryid"), description=call.get("description"),
        keyword=call.get("keyword"), **call.paging())


@command("listOsCategories", params={
    "id": f.Uuid("OsCategory", "list Os category by id"),
    "name": f.String("list os category by name"),
}, shape=LIST, response=OsCategory, description="Lists all supported OS categories for this cloud.")
def list_os_categories(call):
    return call.cloud.offerings.list_os_categories(id=call.get("id"), name=call.get("name"),
                                                   keyword=call.get("keyword"), **call.paging())


# ------------------------------------------------------------------ templates and ISOs

def _register_params(iso: bool) -> dict:
    params = {
        "name": f.String(f"the name of the {'ISO' if iso else 'template'}", required=True),
        "displaytext": f.String("the display text of the image. If not specified, the name is used",
                                length=4096),
        "url": f.String("the URL of where the image is hosted. Possible URL include http:// and https://",
                        required=True, length=2048),
        "zoneid": f.Uuid("Zone", "the ID of the zone the image is to be hosted on"),
        "ostypeid": f.Uuid("OsType", "the ID of the OS type that best represents the OS of this image."),
        "ispublic": f.Boolean("true if the image is available to all accounts; default is true for ISOs and "
                              "false for templates"),
        "isfeatured": f.Boolean("true if this image is featured, false otherwise"),
        "isextractable": f.Boolean("true if the image or its derivatives are extractable; default is false"),
        "checksum": f.String("the checksum value of this image. The parameter containing the checksum will be "
                             "considered a MD5sum if it is not prefixed and just a plain ascii/utf8 "
                             "representation of a hexadecimal string."),
        "account": f.String("an optional account name. Must be used with domainId."),
        "domainid": f.Uuid("Domain", "an optional domainId. If the account parameter is used, domainId must "
                                     "also be used."),
        "passwordenabled": f.Boolean("true if the image supports the password reset feature; default is false"),
        "isdynamicallyscalable": f.Boolean("true if the image contains XS/VMWare tools inorder to support "
                                           "dynamic scaling of VM cpu/memory"),
    }
    if iso:
        params["bootable"] = f.Boolean("true if this ISO is bootable. If not passed explicitly its assumed to be "
                                       "true")
    else:
        params.update({
            "format": f.String("the format for the template. Possible values include QCOW2, RAW, VHD and OVA.",
                               required=True),
            "hypervisor": f.String("the target hypervisor for the template", required=True),
            "sshkeyenabled": f.Boolean("true if the template supports the sshkey upload feature; default is "
                                       "false"),
            "requireshvm": f.Boolean("true if this template requires HVM"),
            "bits": f.Integer("32 or 64 bits support. 64 by default"),
            "zoneids": f.List("A list of zone ids where the template will be hosted. Use this parameter if the "
                              "template needs to be registered to multiple zones in one go. Use zoneid if the "
                              "template needs to be registered to only one zone.Passing only -1 to this will "
                              "cause the template to be registered as a cross zone template and will be copied "
                              "to all zones. "),
        })
    return params


def _register(call, iso: bool):
    cloud, caller = call.cloud, call.caller
    owner = cloud.accounts.owner_for(caller, call.get("account"), call.get("domainid"))
    zone = call.get("zoneid")
    zone_ids = [z for z in call.get("zoneids", []) if z != "-1"]
    if zone is None and len(zone_ids) == 1:
        zone = cloud.lookup("Zone", zone_ids[0])
        if zone is None:
            raise InvalidParameterValue(f"Unable to find zone by id {zone_ids[0]}")
    elif len(zone_ids) > 1:
        raise InvalidParameterValue("Registering to several chosen zones is not supported: give one zoneid, or "
                                    "none (or -1) for all zones")
    template = cloud.templates.register(
        caller, name=call.params["name"], display_text=call.get("displaytext") or call.params["name"],
        url=call.params["url"], format="ISO" if iso else call.params["format"].upper(),
        hypervisor="None" if iso else _hypervisor(call.params["hypervisor"]), os_type=call.get("ostypeid"),
        zone=zone, is_iso=iso, is_public=call.get("ispublic", iso), is_featured=call.get("isfeatured", False),
        is_extractable=call.get("isextractable", False), password_enabled=call.get("passwordenabled", False),
        ssh_key_enabled=call.get("sshkeyenabled", False), bootable=call.get("bootable", True),
        is_dynamically_scalable=call.get("isdynamicallyscalable", False),
        requires_hvm=call.get("requireshvm", True), bits=call.get("bits", 64), checksum=call.get("checksum"),
        owner=owner)
    copies = list(template.zones)
    return len(copies), copies


def _hypervisor(name: str) -> str:
    known = {"kvm": "KVM", "simulator": "Simulator", "xenserver": "XenServer", "vmware": "VMware",
             "hyperv": "Hyperv", "lxc": "LXC", "any": "Any"}
    return known.get(name.lower(), name)


@command("registerTemplate", params=_register_params(False), shape=LIST, response=Template,
         list_params=False, description="Registers an existing template into the CloudStack cloud.")
def register_template(call):
    return _register(call, iso=False)


@command("registerIso", params=_register_params(True), shape=LIST, response=Iso, list_params=False,
         description="Registers an existing ISO into the CloudStack Cloud.")
def register_iso(call):
    return _register(call, iso=True)


def _list_params(filter_name: str, iso: bool) -> dict:
    return {
        filter_name: f.String("possible values are \"featured\", \"self\", \"selfexecutable\", "
                              "\"sharedexecutable\", \"executable\", and \"community\". * featured : templates "
                              "that have been marked as featured and public. * self : templates that have been "
                              "registered or created by the calling user. * selfexecutable : same as self, but "
                              "only returns templates that can be used to deploy a new VM. * sharedexecutable : "
                              "templates ready to be deployed that have been granted to the calling user by "
                              "another user. * executable : templates that are owned by the calling user, or "
                              "public templates, that can be used to deploy a VM. * community : templates that "
                              "have been marked as public but not featured. * all : all templates (only usable by "
                              "admins).", required=not iso),
        "id": f.Uuid("Iso" if iso else "Template", f"the {'ISO' if iso else 'template'} ID"),
        "ids": f.List("the IDs of the templates, mutually exclusive with id", entity="Template"),
        "name": f.String("the template name"),
        "zoneid": f.Uuid("Zone", "list templates by zoneId"),
        "hypervisor": f.String("the hypervisor for which to restrict the search"),
        "isready": f.Boolean("list only ready templates"),
        **({"bootable": f.Boolean("true if the ISO is bootable, false otherwise"),
            "ispublic": f.Boolean("true if the ISO is publicly available to all users, false otherwise.")}
           if iso else {}),
        **scope_params(),
    }


def _list(call, iso: bool, filter_name: str):
    account = None
    if call.get("account"):
        account = call.cloud.accounts.owner_for(call.caller, call.params["account"], call.get("domainid"))
    return call.cloud.templates.list(
        call.caller, is_iso=iso, filter=call.get(filter_name) or "executable", id=call.get("id"),
        ids=call.get("ids"), name=call.get("name"), zone=call.get("zoneid"), hypervisor=call.get("hypervisor"),
        ready=call.get("isready"), bootable=call.params.get("bootable"), is_public=call.params.get("ispublic"),
        keyword=call.get("keyword"), account=account, domain=call.get("domainid"), **call.paging())


@command("listTemplates", params=_list_params("templatefilter", False), shape=LIST, response=Template,
         description="List all public, private, and privileged templates.")
def list_templates(call):
    return _list(call, iso=False, filter_name="templatefilter")


@command("listIsos", params=_list_params("isofilter", True), shape=LIST, response=Iso,
         description="Lists all available ISO files.")
def list_isos(call):
    return _list(call, iso=True, filter_name="isofilter")


def _delete(call, iso: bool):
    template = call.params["id"]
    if template.is_iso != iso:
        kind = "ISO" if iso else "template"
        raise InvalidParameterValue(f"Unable to find {kind} with id {template.uuid}")
    zone = call.get("zoneid")
    templates = call.cloud.templates
    templates.check_deletable(call.caller, template, zone)

    def work():
        templates.delete(call.caller, template, zone)
        return JobResult()

    return submit(call, work, instance=template, instance_type="Iso" if iso else "Template",
                  sync_key=f"template:{template.id}")


@command("deleteTemplate", params={
    "id": f.Uuid("Template", "the ID of the template", required=True),
    "zoneid": f.Uuid("Zone", "the ID of zone of the template"),
    "forced": f.Boolean("Force delete a template."),
}, isasync=True, shape=SUCCESS, description="Deletes a template from the system. All virtual machines using the "
                                            "deleted template will not be affected.")
def delete_template(call):
    return _delete(call, iso=False)


@command("deleteIso", params={
    "id": f.Uuid("Iso", "the ID of the ISO file", required=True),
    "zoneid": f.Uuid("Zone", "the ID of the zone of the ISO file. If not specified, the ISO will be deleted "
                             "from all the zones"),
}, isasync=True, shape=SUCCESS, description="Deletes an ISO file.")
def delete_iso(call):
    return _delete(call, iso=True)
