"""Tenant isolation: another tenant's object answers exactly as one that does not exist, on both APIs.

One account (the owner, in its own domain) holds one object of every kind a command takes an id of.
Three other tenants — a user of the same domain, a user of another domain and the domain admin of that
other domain — give each id to every command that takes one (native: every declared parameter of that
entity, found in the command registry; EC2: every action taking such an id). Each answer must equal,
code and text, the answer the same call gets with an id that names nothing (the id itself swapped), and
no error text may name anything of the owner's. Admins keep their wider view: the owner's domain admin
and the root admin see every object.
"""
from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cs import CloudStack, CloudStackApiException

from conformance.conftest import wait_template_ready
from conformance.test_cs_client import pick, wait_job
from ec2bridge.ids import to_ec2
import native_api.app  # noqa: F401 - importing the app declares every command
from native_api.registry import REGISTRY as COMMANDS

SUFFIX = uuid.uuid4().hex[:6]
ROLE_OF_TYPE = {0: "User", 2: "DomainAdmin"}
PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGBmWbYtcRUNWFHp6+X4lZqsO1Rtdke9HnzNxOZqHrGp isolation@test")


def _native(call, **params):
    """(errorcode, errortext) of a call that must fail."""
    with pytest.raises(CloudStackApiException) as info:
        call(**params)
    return info.value.error["errorcode"], info.value.error["errortext"]


def _ec2(call, **params):
    with pytest.raises(ClientError) as info:
        call(**params)
    error = info.value.response["Error"]
    return error["Code"], error["Message"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


class Tenant:
    def __init__(self, server, admin_cs, name: str, domain: dict, account_type: int = 0):
        account = admin_cs.createAccount(username=f"{name}-{SUFFIX}", password="pw", email=f"{name}@example.com",
                                         firstname=name, lastname="T", accounttype=account_type,
                                         domainid=domain["id"], account=f"{name}-{SUFFIX}")["account"]
        self.account, self.user, self.domain = account, account["user"][0], domain
        self.role = ROLE_OF_TYPE[account_type]
        keys = admin_cs.registerUserKeys(id=self.user["id"])["userkeys"]
        self.cs = CloudStack(endpoint=server.api_url, key=keys["apikey"], secret=keys["secretkey"])
        self.ec2 = boto3.client("ec2", endpoint_url=server.url, region_name="us-east-1",
                                aws_access_key_id=keys["apikey"], aws_secret_access_key=keys["secretkey"],
                                config=Config(retries={"max_attempts": 1}))
        self.vm_id = None

    def deploy(self, **params) -> dict:
        zone, offering, template = pick(self.cs)
        deployed = self.cs.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=offering["id"],
                                                templateid=template["id"], startvm=False, **params)
        assert wait_job(self.cs, deployed["jobid"])["jobstatus"] == 1
        self.vm_id = self.vm_id or deployed["id"]
        return deployed


@pytest.fixture(scope="module")
def world(server, admin_cs):
    """The owner's objects, the three outsiders, the owner's domain admin."""
    home = admin_cs.createDomain(name=f"home-{SUFFIX}")["domain"]
    away = admin_cs.createDomain(name=f"away-{SUFFIX}")["domain"]
    owner = Tenant(server, admin_cs, "owner", home)
    outsiders = {"neighbour": Tenant(server, admin_cs, "neighbour", home),
                 "stranger": Tenant(server, admin_cs, "stranger", away),
                 "awayadmin": Tenant(server, admin_cs, "awayadmin", away, account_type=2)}
    home_admin = Tenant(server, admin_cs, "homeadmin", home, account_type=2)

    for tenant in outsiders.values():  # an instance of their own, for commands that also need one
        tenant.deploy()
    cs = owner.cs
    zone, offering, template = pick(cs)
    deployed = owner.deploy(name=f"secret-vm-{SUFFIX}")
    volume = cs.listVolumes(virtualmachineid=deployed["id"])["volume"][0]
    os_type = cs.listOsTypes(keyword="Debian")["ostype"][0]
    image = cs.registerTemplate(name=f"secret-image-{SUFFIX}", displaytext="private", format="QCOW2",
                                hypervisor="Simulator", ostypeid=os_type["id"], zoneid=zone["id"],
                                url="http://images.example.org/secret.qcow2")["template"][0]
    assert wait_template_ready(cs, image["id"])["isready"]
    iso = cs.registerIso(name=f"secret-iso-{SUFFIX}", displaytext="private", ostypeid=os_type["id"], ispublic=False,
                         zoneid=zone["id"], url="http://images.example.org/secret.iso")["iso"][0]
    key = cs.createSSHKeyPair(name=f"secret-key-{SUFFIX}")["keypair"]
    key_id = cs.listSSHKeyPairs(name=key["name"])["sshkeypair"][0]["id"]
    group = cs.createSecurityGroup(name=f"secret-sg-{SUFFIX}")["securitygroup"]
    granted = wait_job(cs, cs.authorizeSecurityGroupIngress(securitygroupid=group["id"], protocol="tcp",
                                                            startport=22, endport=22,
                                                            cidrlist="10.9.0.0/16")["jobid"])
    rule = granted["jobresult"]["securitygroup"]["ingressrule"][0]
    tagged = cs.createTags(resourcetype="UserVm", resourceids=deployed["id"],
                           tags=[{"key": "team", "value": f"secret-team-{SUFFIX}"}])
    assert wait_job(cs, tagged["jobid"])["jobstatus"] == 1
    event = cs.listEvents()["event"][0]
    template_name = f"secret-lt-{SUFFIX}"
    launch_template = owner.ec2.create_launch_template(
        LaunchTemplateName=template_name, LaunchTemplateData={"InstanceType": "t2.nano"},
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "team", "Value": "secret"}]}],
    )["LaunchTemplate"]["LaunchTemplateId"]

    ids = {"VirtualMachine": deployed["id"], "Volume": volume["id"], "Template": image["id"], "Iso": iso["id"],
           "SSHKeyPair": key_id, "SecurityGroup": group["id"], "SecurityGroupRule": rule["ruleid"],
           "Event": event["id"], "Account": owner.account["id"], "User": owner.user["id"], "Domain": home["id"]}
    # Everything an error text must not give away: ids, names, the owner's account and domain.
    secrets = set(ids.values()) | {deployed["jobid"], deployed["id"].split("-")[0], f"secret-vm-{SUFFIX}",
                                   f"secret-image-{SUFFIX}", f"secret-iso-{SUFFIX}", key["name"], group["name"],
                                   f"secret-team-{SUFFIX}", owner.account["name"], owner.user["username"],
                                   home["name"], home["path"]}
    ec2_ids = {"i": to_ec2("i", deployed["id"]), "ami": to_ec2("ami", image["id"]), "sg": to_ec2("sg", group["id"]),
               "key": to_ec2("key", key_id), "vol": to_ec2("vol", volume["id"]), "lt": launch_template}
    secrets |= set(ec2_ids.values()) | {template_name}
    return {"owner": owner, "outsiders": outsiders, "home_admin": home_admin, "ids": ids, "ec2_ids": ec2_ids,
            "secrets": secrets, "job": deployed["jobid"], "key_name": key["name"], "group_name": group["name"],
            "template_name": template_name,
            "zone": zone, "offering": offering, "template": template}


def _fill(world, tenant: Tenant) -> dict:
    """Valid values of the outsider's own for the other parameters a command requires."""
    zone, offering, template = world["zone"], world["offering"], world["template"]
    return {"zoneid": zone["id"], "serviceofferingid": offering["id"], "templateid": template["id"],
            "templatefilter": "all", "isofilter": "all", "protocol": "tcp", "startport": 22, "endport": 22,
            "cidrlist": "10.0.0.0/8", "name": f"x-{uuid.uuid4().hex[:6]}", "displaytext": "x",
            "url": "http://images.example.org/x.qcow2", "format": "QCOW2", "hypervisor": "Simulator",
            "account": tenant.account["name"],
            "domainid": tenant.domain["id"], "id": tenant.vm_id, "virtualmachineid": tenant.vm_id,
            "publickey": PUBLIC_KEY,
            "username": f"u-{uuid.uuid4().hex[:6]}", "password": "pw", "email": "x@example.com", "firstname": "x",
            "lastname": "y", "accounttype": 0, "resourcetype": 0, "max": 5, "cpunumber": 1, "cpuspeed": 500,
            "memory": 512, "disksize": 1, "lock": "false"}


def _native_cases():
    """(command, parameter, entity) for every declared parameter that takes the id of a tenant's object."""
    owned = {"VirtualMachine", "Volume", "Template", "Iso", "SSHKeyPair", "SecurityGroup", "SecurityGroupRule",
             "Event", "Account", "User", "Domain"}
    for cmd in sorted(COMMANDS.values(), key=lambda c: c.name):
        for name, field in cmd.params.items():
            if getattr(field, "entity", None) in owned:
                yield cmd, name, field.entity


def test_native_foreign_ids_answer_as_missing_ones(world):
    """Every outsider × every command × every id parameter: the unknown-id 431, the same text."""
    tried = 0
    for who, tenant in world["outsiders"].items():
        for cmd, param, entity in _native_cases():
            if tenant.role not in cmd.roles or (entity == "Domain" and who == "neighbour"):
                continue  # not this caller's command; the neighbour's own domain is no secret
            fill = _fill(world, tenant)
            required = {n: fill[n] for n, f in cmd.params.items() if f.required and n != param}
            foreign = world["ids"][entity]
            missing = str(uuid.uuid4())
            call = getattr(tenant.cs, cmd.name)
            got = _native(call, **required, **{param: foreign})
            expected = _native(call, **required, **{param: missing})
            assert "entity does not exist" in expected[1], (cmd.name, param, expected)
            assert got == (expected[0], expected[1].replace(missing, foreign)), (who, cmd.name, param, got)
            _assert_discloses_nothing(world, got[1].replace(foreign, ""), who, cmd.name)
            tried += 1
    # Every outsider met every kind of object.
    assert tried >= 3 * 40, tried
    print(f"native isolation matrix: {tried} foreign-id calls")


def test_native_ids_in_other_places_answer_as_missing_ones(world):
    """Ids and names that are not entity-typed parameters: tags, jobs, account names."""
    ids = world["ids"]
    for who, tenant in world["outsiders"].items():
        cs = tenant.cs
        for kind, entity in (("UserVm", "VirtualMachine"), ("Template", "Template"), ("ISO", "Iso"),
                             ("Volume", "Volume")):
            for command in (cs.createTags, cs.deleteTags):
                params = {"resourcetype": kind, "tags[0].key": "k", "tags[0].value": "v"}
                missing = str(uuid.uuid4())
                got = _native(command, resourceids=ids[entity], **params)
                expected = _native(command, resourceids=missing, **params)
                assert got == (expected[0], expected[1].replace(missing, ids[entity])), (who, kind, got)
                assert expected[0] == 431
        missing = str(uuid.uuid4())
        got = _native(cs.queryAsyncJobResult, jobid=world["job"])
        expected = _native(cs.queryAsyncJobResult, jobid=missing)
        assert got == (expected[0], expected[1].replace(missing, world["job"])), got
        owner_name = world["owner"].account["name"]
        if who == "neighbour":  # the owner's account, named in the domain both share
            home = world["owner"].domain["id"]
            got = _native(cs.listVirtualMachines, account=owner_name, domainid=home)
            expected = _native(cs.listVirtualMachines, account="nobody-here", domainid=home)
            assert got == (expected[0], expected[1].replace("nobody-here", owner_name)), got
        # Names are per account: another's key pair or group name is simply not one of the caller's.
        assert not cs.listSSHKeyPairs(name=world["key_name"])
        assert not cs.listSecurityGroups(securitygroupname=world["group_name"])


def test_ec2_foreign_ids_answer_as_missing_ones(world):
    """Every outsider × every action taking an instance, image, group, key pair, volume or launch template id
    (or a launch template's name)."""
    ids, image = world["ec2_ids"], world["template"]
    public_ami = to_ec2("ami", image["id"])

    def cases(ec2):
        i, ami, sg, key, vol, lt = ids["i"], ids["ami"], ids["sg"], ids["key"], ids["vol"], ids["lt"]
        lt_name = world["template_name"]
        data = {"InstanceType": "t2.nano"}
        permission = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}]
        run = {"MinCount": 1, "MaxCount": 1, "InstanceType": "t2.nano"}
        return [
            (i, ec2.describe_instances, {"InstanceIds": [i]}),
            (i, ec2.describe_instance_status, {"InstanceIds": [i]}),
            (i, ec2.get_console_output, {"InstanceId": i}),
            (i, ec2.start_instances, {"InstanceIds": [i]}),
            (i, ec2.stop_instances, {"InstanceIds": [i]}),
            (i, ec2.reboot_instances, {"InstanceIds": [i]}),
            (i, ec2.terminate_instances, {"InstanceIds": [i]}),
            (i, ec2.terminate_instances, {"InstanceIds": [i], "DryRun": True}),
            (i, ec2.describe_instance_attribute, {"InstanceId": i, "Attribute": "instanceType"}),
            (i, ec2.modify_instance_attribute, {"InstanceId": i, "InstanceType": {"Value": "t2.small"}}),
            (i, ec2.create_tags, {"Resources": [i], "Tags": [{"Key": "k", "Value": "v"}]}),
            (i, ec2.delete_tags, {"Resources": [i]}),
            (ami, ec2.describe_images, {"ImageIds": [ami]}),
            (ami, ec2.deregister_image, {"ImageId": ami}),
            (ami, ec2.run_instances, {"ImageId": ami, **run}),
            (ami, ec2.create_tags, {"Resources": [ami], "Tags": [{"Key": "k", "Value": "v"}]}),
            (ami, ec2.delete_tags, {"Resources": [ami]}),
            (sg, ec2.describe_security_groups, {"GroupIds": [sg]}),
            (sg, ec2.delete_security_group, {"GroupId": sg}),
            (sg, ec2.authorize_security_group_ingress, {"GroupId": sg, "IpPermissions": permission}),
            (sg, ec2.authorize_security_group_egress, {"GroupId": sg, "IpPermissions": permission}),
            (sg, ec2.revoke_security_group_ingress, {"GroupId": sg, "IpPermissions": permission}),
            (sg, ec2.revoke_security_group_egress, {"GroupId": sg, "IpPermissions": permission}),
            (sg, ec2.run_instances, {"ImageId": public_ami, "SecurityGroupIds": [sg], **run}),
            (sg, ec2.authorize_security_group_ingress, {"GroupName": "default", "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": sg}]}]}),
            (world["group_name"], ec2.describe_security_groups, {"GroupNames": [world["group_name"]]}),
            (world["group_name"], ec2.delete_security_group, {"GroupName": world["group_name"]}),
            (key, ec2.describe_key_pairs, {"KeyPairIds": [key]}),
            (world["key_name"], ec2.describe_key_pairs, {"KeyNames": [world["key_name"]]}),
            (world["key_name"], ec2.run_instances, {"ImageId": public_ami, "KeyName": world["key_name"], **run}),
            (vol, ec2.create_tags, {"Resources": [vol], "Tags": [{"Key": "k", "Value": "v"}]}),
            (vol, ec2.delete_tags, {"Resources": [vol]}),
            (lt, ec2.describe_launch_templates, {"LaunchTemplateIds": [lt]}),
            (lt, ec2.describe_launch_template_versions, {"LaunchTemplateId": lt}),
            (lt, ec2.create_launch_template_version, {"LaunchTemplateId": lt, "LaunchTemplateData": data}),
            (lt, ec2.modify_launch_template, {"LaunchTemplateId": lt, "DefaultVersion": "1"}),
            (lt, ec2.delete_launch_template_versions, {"LaunchTemplateId": lt, "Versions": ["1"]}),
            (lt, ec2.delete_launch_template, {"LaunchTemplateId": lt}),
            (lt, ec2.delete_launch_template, {"LaunchTemplateId": lt, "DryRun": True}),
            (lt, ec2.run_instances, {"LaunchTemplate": {"LaunchTemplateId": lt}, **run}),
            (lt, ec2.create_tags, {"Resources": [lt], "Tags": [{"Key": "k", "Value": "v"}]}),
            (lt, ec2.delete_tags, {"Resources": [lt]}),
            (lt_name, ec2.describe_launch_templates, {"LaunchTemplateNames": [lt_name]}),
            (lt_name, ec2.describe_launch_template_versions, {"LaunchTemplateName": lt_name}),
            (lt_name, ec2.create_launch_template_version, {"LaunchTemplateName": lt_name,
                                                           "LaunchTemplateData": data}),
            (lt_name, ec2.modify_launch_template, {"LaunchTemplateName": lt_name, "DefaultVersion": "1"}),
            (lt_name, ec2.delete_launch_template, {"LaunchTemplateName": lt_name}),
            (lt_name, ec2.run_instances, {"LaunchTemplate": {"LaunchTemplateName": lt_name}, **run}),
        ]

    tried = 0
    for who, tenant in world["outsiders"].items():
        for foreign, call, params in cases(tenant.ec2):
            prefix = foreign.split("-")[0]
            missing = (f"{prefix}-{uuid.uuid4().hex[:17]}" if foreign in ids.values()
                       else f"nothing-{uuid.uuid4().hex[:6]}")
            swapped = _swap(params, foreign, missing)
            got = _ec2(call, **params)
            expected = _ec2(call, **swapped)
            assert expected[0].endswith((".NotFound", ".NotFoundException")), (call.__name__, expected)
            assert got == (expected[0], expected[1].replace(missing, foreign), expected[2]), (who, call.__name__, got)
            _assert_discloses_nothing(world, got[1].replace(foreign, ""), who, call.__name__)
            tried += 1
    print(f"EC2 isolation matrix: {tried} foreign-id calls")
    # Nothing an outsider did reached the owner's objects.
    owner = world["owner"].cs
    vm = owner.listVirtualMachines(id=world["ids"]["VirtualMachine"])["virtualmachine"][0]
    assert vm["state"] == "Stopped" and vm["serviceofferingname"] == world["offering"]["name"]
    assert [t["key"] for t in vm["tags"]] == ["team"]
    assert owner.listSecurityGroups(id=world["ids"]["SecurityGroup"])["securitygroup"][0]["ingressrule"]
    assert owner.listSSHKeyPairs(id=world["ids"]["SSHKeyPair"])["sshkeypair"]
    template = world["owner"].ec2.describe_launch_templates(LaunchTemplateIds=[ids["lt"]])["LaunchTemplates"][0]
    assert (template["LatestVersionNumber"], template["Tags"]) == (1, [{"Key": "team", "Value": "secret"}])


def test_instance_types_offerings_regions_and_zones_are_the_same_for_every_tenant(world):
    """They are the cloud's, not a tenant's: each outsider gets the owner's answers, which name nothing of
    anyone (an offering made on first use is public too)."""
    def answers(ec2):
        return {"DescribeInstanceTypes": ec2.describe_instance_types()["InstanceTypes"],
                **{f"DescribeInstanceTypeOfferings {where}": ec2.describe_instance_type_offerings(
                    LocationType=where)["InstanceTypeOfferings"]
                   for where in ("region", "availability-zone", "availability-zone-id")},
                "DescribeAvailabilityZones": ec2.describe_availability_zones()["AvailabilityZones"],
                "DescribeRegions": ec2.describe_regions()["Regions"]}

    owners = answers(world["owner"].ec2)
    assert owners["DescribeInstanceTypeOfferings region"]
    for who, tenant in world["outsiders"].items():
        theirs = answers(tenant.ec2)
        for action, answer in theirs.items():
            assert answer == owners[action], (who, action)
            _assert_discloses_nothing(world, repr(answer), who, action)


def test_admins_keep_their_wider_view(world, admin_cs):
    """The owner's domain admin and the root admin see every object of the owner, by id, on both APIs."""
    ids = world["ids"]
    for cs in (world["home_admin"].cs, admin_cs):
        assert cs.listVirtualMachines(id=ids["VirtualMachine"])["virtualmachine"]
        assert cs.listVolumes(id=ids["Volume"])["volume"]
        assert cs.listTemplates(templatefilter="all", id=ids["Template"])["template"]
        assert cs.listIsos(isofilter="all", id=ids["Iso"])["iso"]
        assert cs.listSSHKeyPairs(id=ids["SSHKeyPair"])["sshkeypair"]
        assert cs.listSecurityGroups(id=ids["SecurityGroup"])["securitygroup"]
        assert cs.listEvents(id=ids["Event"])["event"]
        assert cs.listAccounts(id=ids["Account"])["account"]
        assert cs.listUsers(id=ids["User"])["user"]
        assert cs.listDomains(id=ids["Domain"])["domain"]
        assert cs.queryAsyncJobResult(jobid=world["job"])["jobstatus"] == 1
    home_admin = world["home_admin"].ec2
    reservations = home_admin.describe_instances(InstanceIds=[world["ec2_ids"]["i"]])["Reservations"]
    assert reservations[0]["Instances"][0]["InstanceId"] == world["ec2_ids"]["i"]
    templates = home_admin.describe_launch_templates(LaunchTemplateIds=[world["ec2_ids"]["lt"]])["LaunchTemplates"]
    assert [t["LaunchTemplateName"] for t in templates] == [world["template_name"]]


def _swap(value, old, new):
    if isinstance(value, dict):
        return {k: _swap(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, old, new) for v in value]
    return new if value == old else value


def _assert_discloses_nothing(world, text: str, who: str, command: str) -> None:
    named = [s for s in world["secrets"] if s and s in text]
    assert not named, (who, command, text, named)
