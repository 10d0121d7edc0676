"""Templates, offerings and infrastructure rules over a whole Cloud."""
from __future__ import annotations

import pytest

from backends.errors import InvalidParameterValue, PermissionDenied, ResourceInUse
from backends.models import Host, OsType, ServiceOffering, Template, TemplateZone, Zone
from tests.integration.conftest import caller_of


def _names(rows):
    return {r.template.name for r in rows}


def test_register_download_filters_and_delete(cloud):
    demo, admin = caller_of(cloud, "demo"), caller_of(cloud, "admin")
    zone = Zone.get(Zone.name == "us-east-1a")
    os_type = OsType.get(OsType.name == "Debian GNU/Linux 12 (64-bit)")
    mine = cloud.templates.register(demo, name="mine", display_text="mine", url="http://img/mine.qcow2",
                                    format="QCOW2", hypervisor="Simulator", os_type=os_type, zone=zone)
    shared = cloud.templates.register(demo, name="shared", display_text="s", url="http://img/s.qcow2",
                                      format="QCOW2", hypervisor="Simulator", os_type=os_type, is_public=True)
    cloud.templates.wait_for_downloads(timeout=30)
    copies = list(TemplateZone.select().where(TemplateZone.template.in_([mine.id, shared.id])))
    assert len(copies) == 3 and {c.download_state for c in copies} == {"DOWNLOADED"}
    assert cloud.limits.count(mine.account, 4) == 2

    assert _names(cloud.templates.list(demo, is_iso=False, filter="self")[1]) == {"mine", "shared"}
    assert "mine" not in _names(cloud.templates.list(demo, is_iso=False, filter="featured")[1])
    assert {"mine", "ubuntu-22.04"} <= _names(cloud.templates.list(demo, is_iso=False, filter="executable")[1])
    assert _names(cloud.templates.list(admin, is_iso=False, filter="community")[1]) == {"shared"}
    assert "mine" not in _names(cloud.templates.list(admin, is_iso=False, filter="self")[1])
    assert "mine" in _names(cloud.templates.list(admin, is_iso=False, filter="all")[1])
    assert not cloud.templates.list(demo, is_iso=False, filter="sharedexecutable")[1]
    with pytest.raises(InvalidParameterValue):
        cloud.templates.list(demo, is_iso=False, filter="everything")

    offering = ServiceOffering.get(ServiceOffering.name == "t2.micro")
    vm = cloud.vms.deploy(demo, zone=zone, offering=offering, template=mine)
    with pytest.raises(ResourceInUse):
        cloud.templates.check_deletable(demo, mine)
    cloud.vms.lifecycle.do_destroy(demo, vm.id, True)
    cloud.templates.delete(demo, mine)
    assert "mine" not in _names(cloud.templates.list(demo, is_iso=False, filter="self")[1])
    assert cloud.limits.count(mine.account, 4) == 1


def test_register_validation_and_download_failure(cloud):
    demo = caller_of(cloud, "demo")
    with pytest.raises(InvalidParameterValue, match="scheme"):
        cloud.templates.register(demo, name="x", display_text="x", url="file:///etc/passwd", format="QCOW2",
                                 hypervisor="Simulator")
    with pytest.raises(InvalidParameterValue, match="Format"):
        cloud.templates.register(demo, name="x", display_text="x", url="http://img/x", format="EXE",
                                 hypervisor="Simulator")
    with pytest.raises(PermissionDenied):
        cloud.templates.register(demo, name="x", display_text="x", url="http://img/x", format="QCOW2",
                                 hypervisor="Simulator", is_featured=True)
    zone = Zone.get(Zone.name == "us-east-1b")
    cloud.simulator.configure("DownloadCommand", "result:fail;message:404 Not Found", zone=zone.uuid)
    broken = cloud.templates.register(demo, name="broken", display_text="b", url="http://img/b.qcow2",
                                      format="QCOW2", hypervisor="Simulator", zone=zone)
    cloud.templates.wait_for_downloads(timeout=30)
    copy = TemplateZone.get(TemplateZone.template == broken.id)
    assert copy.download_state == "DOWNLOAD_ERROR" and copy.status_text == "404 Not Found"
    with pytest.raises(InvalidParameterValue, match="not ready"):
        cloud.templates.get_ready_copy(broken, zone)


def test_restart_resumes_unfinished_downloads(cloud):
    demo = caller_of(cloud, "demo")
    zone = Zone.get(Zone.name == "us-east-1a")
    template = cloud.templates.register(demo, name="r", display_text="r", url="http://img/r.qcow2", format="QCOW2",
                                        hypervisor="Simulator", zone=zone)
    cloud.templates.wait_for_downloads(timeout=30)
    # A dead process left the copy half-way.
    TemplateZone.update(download_state="DOWNLOAD_IN_PROGRESS", download_pct=40).where(
        TemplateZone.template == template.id).execute()
    cloud.templates.resume_downloads()
    cloud.templates.wait_for_downloads(timeout=30)
    assert TemplateZone.get(TemplateZone.template == template.id).download_state == "DOWNLOADED"


def test_users_cannot_touch_infrastructure_or_offerings(cloud):
    demo = caller_of(cloud, "demo")
    zone = Zone.get(Zone.name == "us-east-1a")
    with pytest.raises(PermissionDenied):
        cloud.infra.create_zone(demo, name="mine", dns1="1.1.1.1", internal_dns1="10.0.0.1")
    with pytest.raises(PermissionDenied):
        cloud.infra.list_hosts(demo)
    with pytest.raises(PermissionDenied):
        cloud.offerings.create_service_offering(demo, name="x", cpu_number=1, cpu_speed=1, memory=64)
    assert cloud.infra.list_zones(demo)[0] == 2
    admin = caller_of(cloud, "admin")
    cloud.infra.update_zone(admin, zone, allocation_state="Disabled")
    assert cloud.infra.list_zones(demo)[0] == 1  # users do not see disabled zones
    with pytest.raises(ResourceInUse):
        cloud.infra.delete_zone(admin, zone)


def test_host_maintenance_moves_vms_away(cloud):
    demo, admin = caller_of(cloud, "demo"), caller_of(cloud, "admin")
    zone = Zone.get(Zone.name == "us-east-1a")
    offering = ServiceOffering.get(ServiceOffering.name == "t2.micro")
    template = Template.get(Template.name == "ubuntu-22.04")
    vm = cloud.vms.deploy(demo, zone=zone, offering=offering, template=template)
    cloud.vms.starter.do_start(demo, vm.id)
    host = Host.get_by_id(vm.__class__.get_by_id(vm.id).host_id)
    work = cloud.infra.prepare_maintenance_work(admin, host)
    assert Host.get_by_id(host.id).resource_state == "PrepareForMaintenance"
    work()
    moved = vm.__class__.get_by_id(vm.id)
    assert Host.get_by_id(host.id).resource_state == "Maintenance"
    assert moved.state == "Running" and moved.host_id != host.id and moved.host.cluster_id == host.cluster_id
    cloud.infra.cancel_maintenance_work(admin, host)()
    assert Host.get_by_id(host.id).resource_state == "Enabled"


def test_host_that_stops_answering_goes_disconnected_then_down(cloud):
    host = Host.select().first()
    cloud.simulator.configure("PingCommand", "result:fail", host=host.guid)
    cloud.config.update("ping.interval", "0")
    cloud.infra.ping_hosts()
    assert Host.get_by_id(host.id).status == "Disconnected"
    cloud.infra.ping_hosts()
    assert Host.get_by_id(host.id).status == "Down"
    cloud.simulator.configure("PingCommand", "clear", host=host.guid)
    cloud.infra.ping_hosts()
    assert Host.get_by_id(host.id).status == "Up"


def test_built_in_images_have_ids_of_their_region_and_name(cloud):
    from backends import bootstrap

    built_in = Template.select().where(Template.template_type == "BUILTIN")
    assert {t.uuid for t in built_in} == {bootstrap.image_uuid("us-east-1", name) for name, *_ in bootstrap.TEMPLATES}
    assert bootstrap.image_uuid("us-east-1", "debian-12") != bootstrap.image_uuid("eu-west-3", "debian-12")
    # A region created later copies the same rows (no new ids to collide); the stand-in is one of them.
    bootstrap.ensure_region(cloud, "eu-west-3")
    assert Template.select().where(Template.template_type == "BUILTIN").count() == len(bootstrap.TEMPLATES)
    paris = Zone.get(Zone.name == "eu-west-3c")
    assert cloud.templates.stand_in(paris).uuid == bootstrap.image_uuid("us-east-1", bootstrap.TEMPLATES[0][0])


def test_a_stable_id_already_taken_falls_back_to_a_random_one(cloud):
    from backends import bootstrap

    admin = caller_of(cloud, "admin")
    taken = bootstrap.image_uuid("us-east-1", "debian-12")
    again = cloud.templates.seed_ready_template(
        admin, name="debian-12", display_text="again", url="http://img/d.qcow2", format="QCOW2",
        hypervisor="Simulator", os_type=None, zones=[], uuid=taken)
    assert again.uuid != taken


def test_a_registration_told_not_to_download_starts_no_download(cloud):
    """What a rehearsal (EC2 DryRun) registers is rolled back: it must not have queued a download."""
    demo = caller_of(cloud, "demo")
    zone = Zone.get(Zone.name == "us-east-1a")
    quiet = cloud.templates.register(demo, name="quiet", display_text="q", url="http://img/q.qcow2",
                                     format="QCOW2", hypervisor="Simulator", zone=zone, download=False)
    loud = cloud.templates.register(demo, name="loud", display_text="l", url="http://img/l.qcow2",
                                    format="QCOW2", hypervisor="Simulator", zone=zone)
    cloud.templates.wait_for_downloads(timeout=30)
    state = {c.template_id: c.download_state for c in
             TemplateZone.select().where(TemplateZone.template.in_([quiet.id, loud.id]))}
    assert state == {quiet.id: "NOT_DOWNLOADED", loud.id: "DOWNLOADED"}


def test_an_instance_type_offering_is_made_once_on_first_use_and_stays_withdrawn_once_deleted(cloud):
    demo, admin = caller_of(cloud, "demo"), caller_of(cloud, "admin")
    assert cloud.offerings.by_instance_type("c6i.large") is None
    made = cloud.offerings.ensure_instance_type(demo, "c6i.large", cpu_number=2, memory=4096)
    assert (made.name, made.instance_type, made.cpu_number, made.memory, made.is_customized) == \
        ("c6i.large", "c6i.large", 2, 4096, False)
    assert made.cpu_speed > 0 and made.domain_id is None and made.zone_id is None  # public, every zone
    # A demo user sees it among the offerings, and asking again makes no second one.
    assert "c6i.large" in {o.name for o in cloud.offerings.list_service_offerings(demo)[1]}
    assert cloud.offerings.ensure_instance_type(demo, "c6i.large", cpu_number=2, memory=4096).id == made.id
    assert ServiceOffering.select().where(ServiceOffering.instance_type == "c6i.large").count() == 1
    # An existing offering is the type's, whatever sizes a later call names.
    assert cloud.offerings.ensure_instance_type(demo, "t2.micro", cpu_number=8, memory=1).memory == 1024
    cloud.offerings.delete_service_offering(admin, made)
    assert cloud.offerings.ensure_instance_type(demo, "c6i.large", cpu_number=2, memory=4096) is None
