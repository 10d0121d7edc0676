"""What VMs are made from: service and disk offerings, OS types, templates and ISOs."""
from __future__ import annotations

from marshmallow import fields

from native_api.views import Date, Fn, Ref, View

GiB = 1 << 30


class ServiceOffering(View):
    class Meta(View.Meta):
        object_name = "serviceoffering"

    id = fields.String(attribute="uuid")
    name = fields.String()
    displaytext = fields.String(attribute="display_text")
    cpunumber = fields.Integer(attribute="cpu_number")
    cpuspeed = fields.Integer(attribute="cpu_speed")
    memory = fields.Integer()
    created = Date()
    storagetype = fields.String(attribute="storage_type")
    provisioningtype = fields.String(attribute="provisioning_type")
    offerha = fields.Boolean(attribute="offer_ha")
    limitcpuuse = fields.Boolean(attribute="limit_cpu_use")
    hosttags = fields.String(attribute="host_tags")
    storagetags = fields.String(attribute="storage_tags")
    issystem = fields.Boolean(attribute="is_system")
    iscustomized = fields.Boolean(attribute="is_customized")
    rootdisksize = fields.Integer(attribute="root_disk_size")
    domainid = Ref("domain.uuid")
    domain = Ref("domain.name")
    zoneid = Ref("zone.uuid")
    zone = Ref("zone.name")
    dynamicscalingenabled = fields.Boolean(attribute="dynamic_scaling")
    isvolatile = Fn(lambda o: False, "boolean")
    defaultuse = Fn(lambda o: False, "boolean")
    state = fields.String()


class DiskOffering(View):
    class Meta(View.Meta):
        object_name = "diskoffering"

    id = fields.String(attribute="uuid")
    name = fields.String()
    displaytext = fields.String(attribute="display_text")
    disksize = fields.Integer(attribute="disk_size")
    iscustomized = fields.Boolean(attribute="is_customized")
    storagetype = fields.String(attribute="storage_type")
    provisioningtype = fields.String(attribute="provisioning_type")
    tags = fields.String()
    domainid = Ref("domain.uuid")
    domain = Ref("domain.name")
    zoneid = Ref("zone.uuid")
    zone = Ref("zone.name")
    created = Date()
    state = fields.String()
    displayoffering = Fn(lambda o: True, "boolean")


class OsType(View):
    class Meta(View.Meta):
        object_name = "ostype"

    id = fields.String(attribute="uuid")
    description = Fn(lambda o: o.name)
    name = fields.String()
    oscategoryid = Ref("category.uuid")
    oscategoryname = Ref("category.name")
    isuserdefined = fields.Boolean(attribute="is_user_defined")
    fordisplay = Fn(lambda o: True, "boolean")


class OsCategory(View):
    class Meta(View.Meta):
        object_name = "oscategory"

    id = fields.String(attribute="uuid")
    name = fields.String()


def _status(copy) -> str:
    state = copy.download_state
    if state == "DOWNLOADED":
        return "Download Complete"
    if state == "DOWNLOAD_IN_PROGRESS":
        return f"{copy.download_pct}% Downloaded"
    if state == "DOWNLOAD_ERROR":
        return copy.status_text or "Download failed"
    return "Not downloaded yet"


class Template(View):
    """One template in one zone: listTemplates shows a row per (template, zone) copy."""

    class Meta(View.Meta):
        object_name = "template"

    id = Ref("template.uuid")
    name = Ref("template.name")
    displaytext = Ref("template.display_text")
    ispublic = Ref("template.is_public", "boolean")
    isfeatured = Ref("template.is_featured", "boolean")
    isextractable = Ref("template.is_extractable", "boolean")
    created = Fn(lambda c: _date(c.template.created), "date")
    isready = Fn(lambda c: c.download_state == "DOWNLOADED", "boolean")
    passwordenabled = Ref("template.password_enabled", "boolean")
    sshkeyenabled = Ref("template.ssh_key_enabled", "boolean")
    format = Ref("template.format")
    hypervisor = Ref("template.hypervisor")
    ostypeid = Ref("template.os_type.uuid")
    ostypename = Fn(lambda c: c.template.os_type.name if c.template.os_type_id else "Other (64-bit)")
    account = Ref("template.account.name")
    accountid = Ref("template.account.uuid")
    domain = Ref("template.domain.name")
    domainid = Ref("template.domain.uuid")
    zoneid = Ref("zone.uuid")
    zonename = Ref("zone.name")
    status = Fn(_status)
    size = Fn(lambda c: c.size or None, "long")
    physicalsize = Fn(lambda c: c.physical_size or None, "long")
    templatetype = Ref("template.template_type")
    crossZones = Ref("template.cross_zones", "boolean")
    bootable = Ref("template.bootable", "boolean")
    isdynamicallyscalable = Ref("template.is_dynamically_scalable", "boolean")
    requireshvm = Ref("template.requires_hvm", "boolean")
    bits = Ref("template.bits", "integer")
    checksum = Ref("template.checksum")
    url = Ref("template.url")
    arch = Ref("template.arch")
    directdownload = Fn(lambda c: False, "boolean")
    downloaddetails = Fn(lambda c: [{"datastore": c.image_store.name if c.image_store_id else "",
                                     "downloadPercent": str(c.download_pct),
                                     "downloadState": c.download_state}], cs_type="list")
    tags = Fn(lambda c: [], cs_type="list")


class Iso(Template):
    class Meta(Template.Meta):
        object_name = "iso"


def _date(value):
    from native_api.fields import format_date

    return format_date(value)
