"""Events, global settings, regions and the simulator's fault injection."""
from __future__ import annotations

from native_api import fields as f
from native_api.registry import LIST, ROOT_ONLY, SUCCESS, command, scope_params
from native_api.views.misc import Configuration, Event, Region


@command("listEvents", params={
    "id": f.Uuid("Event", "the ID of the event"),
    "type": f.String("the event type (see event types)"),
    "level": f.String("the event level (INFO, WARN, ERROR)"),
    "startdate": f.Date("the start date range of the list you want to retrieve (use format \"yyyy-MM-dd\" or "
                        "the new format \"yyyy-MM-dd HH:mm:ss\")"),
    "enddate": f.Date("the end date range of the list you want to retrieve"),
    "resourceid": f.String("the parent/start ID of the event, when provided this will only return child events"),
    "resourcetype": f.String("the type of the resource associated with the event"),
    **scope_params(),
}, shape=LIST, response=Event, description="A command to list events.")
def list_events(call):
    return call.cloud.events.list(
        scope=call.scope(id_given=call.get("id") is not None), id=call.get("id"), event_type=call.get("type"),
        level=call.get("level"), start=call.get("startdate"), end=call.get("enddate"),
        resource_uuid=call.get("resourceid"), resource_type=call.get("resourcetype"), keyword=call.get("keyword"),
        **call.paging())


@command("listConfigurations", params={
    "name": f.String("lists configuration by name"),
    "category": f.String("lists configurations by category"),
}, shape=LIST, roles=ROOT_ONLY, response=Configuration, description="Lists all configurations.")
def list_configurations(call):
    rows = call.cloud.config.list(name=call.get("name"), category=call.get("category"),
                                  keyword=call.get("keyword"))
    size, page = call.get("pagesize"), call.get("page", 1)
    return len(rows), rows[(page - 1) * size: page * size] if size else rows


@command("updateConfiguration", params={
    "name": f.String("the name of the configuration", required=True),
    "value": f.String("the value of the configuration", length=4096),
}, roles=ROOT_ONLY, response=Configuration, description="Updates a configuration.")
def update_configuration(call):
    return call.cloud.config.update(call.params["name"], call.get("value"))


@command("listRegions", params={
    "id": f.Integer("List Region by region ID."),
    "name": f.String("List Region by region name."),
}, shape=LIST, response=Region, description="Lists Regions")
def list_regions(call):
    return call.cloud.infra.list_regions(id=call.get("id"), name=call.get("name"), keyword=call.get("keyword"),
                                         **call.paging())


@command("configureSimulator", params={
    "name": f.String("which command needs to be configured", required=True),
    "value": f.String("configuration options for this command, which is separated by ;", required=True),
    "zoneid": f.Uuid("Zone", "configure range: in a zone"),
    "podid": f.Uuid("Pod", "configure range: in a pod"),
    "clusterid": f.Uuid("Cluster", "configure range: in a cluster"),
    "hostid": f.Uuid("Host", "configure range: in a host"),
    "count": f.Integer("number of times the mock is active"),
}, roles=ROOT_ONLY, shape=SUCCESS,
    description="configure simulator: make the next operations of a kind wait or fail")
def configure_simulator(call):
    def uuid(name):
        row = call.get(name)
        return row.uuid if row is not None else None

    call.cloud.configure_simulator(call.params["name"], call.params["value"], zone=uuid("zoneid"), pod=uuid("podid"),
                                   cluster=uuid("clusterid"),
                                   host=call.get("hostid").guid if call.get("hostid") else None,
                                   count=call.get("count"))
    return True
