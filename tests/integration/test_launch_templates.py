"""The launch template manager on SQLite and MariaDB: numbering, the default version, names per account and
region, ownership, size bounds, and refused operations that leave everything as it was."""
from __future__ import annotations

import threading

import pytest

from backends.compute.launch_templates import MAX_DATA, LaunchTemplateNameTaken, LaunchTemplateVersionMissing
from backends.errors import InvalidParameterValue, NotFound
from backends.models import LaunchTemplate, LaunchTemplateVersion, ResourceTag
from tests.integration.conftest import caller_of


@pytest.fixture
def demo(cloud):
    return caller_of(cloud, "demo")


def test_versions_are_numbered_and_never_renumbered(cloud, demo):
    manager = cloud.launch_templates
    template, first = manager.create(demo, "us-east-1", "web", {"InstanceType": "t2.micro"}, description="one",
                                     tags={"team": "ops"})
    assert (first.number, template.default_version) == (1, 1)
    second = manager.add_version(demo, template, {"InstanceType": "t2.small"})
    third = manager.add_version(demo, template, {"InstanceType": "t2.large"})
    assert (second.number, third.number) == (2, 3)
    assert manager.version(template, "latest").number == 3
    assert manager.version(template, "default").number == 1
    assert manager.data_of(manager.version(template, 2)) == {"InstanceType": "t2.small"}
    deleted, refused = manager.delete_versions(demo, template, [1, 3, 7])
    assert (deleted, refused) == ([3], {1: "default", 7: "missing"})
    assert manager.add_version(demo, template, {}).number == 4  # 3 is not given again
    assert manager.latest_numbers([template]) == {template.id: 4}
    manager.set_default(demo, template, 4)
    with pytest.raises(LaunchTemplateVersionMissing):
        manager.set_default(demo, template, 3)
    assert LaunchTemplate.get_by_id(template.id).default_version == 4
    manager.delete(demo, template)
    assert not LaunchTemplateVersion.select().where(LaunchTemplateVersion.template == template.id).exists()
    assert not ResourceTag.select().where(ResourceTag.resource_uuid == template.uuid).exists()


def test_names_are_unique_per_account_and_region(cloud, demo):
    manager = cloud.launch_templates
    manager.create(demo, "us-east-1", "same", {})
    with pytest.raises(LaunchTemplateNameTaken):
        manager.create(demo, "us-east-1", "same", {"ImageId": "ami-1"})
    assert LaunchTemplate.select().where(LaunchTemplate.name == "same").count() == 1
    other_region, _ = manager.create(demo, "eu-west-1", "same", {})
    admin = caller_of(cloud, "admin")
    theirs, _ = manager.create(admin, "us-east-1", "same", {})
    assert manager.by_name(demo, "us-east-1", "same").id not in (other_region.id, theirs.id)
    assert manager.by_name(admin, "us-east-1", "same").id == theirs.id


def test_another_tenant_can_neither_see_nor_change_a_template(cloud, demo):
    manager = cloud.launch_templates
    template, _ = manager.create(demo, "us-east-1", "private", {"InstanceType": "t2.micro"})
    outsider = cloud.accounts.caller_for(cloud.accounts.create_account(
        caller_of(cloud, "admin"), username="lt-outsider", password="pw", email="o@example.com", firstname="O",
        lastname="T", account_type=0).users[0])
    assert cloud.lookup("LaunchTemplate", template.uuid, outsider) is None
    assert manager.by_name(outsider, "us-east-1", "private") is None
    for change in (lambda: manager.add_version(outsider, template, {}),
                   lambda: manager.set_default(outsider, template, 1),
                   lambda: manager.delete_versions(outsider, template, [1]),
                   lambda: manager.delete(outsider, template)):
        with pytest.raises(NotFound):
            change()
    assert LaunchTemplateVersion.select().where(LaunchTemplateVersion.template == template.id).count() == 1


def test_data_past_the_bound_is_refused_and_nothing_is_kept(cloud, demo):
    manager = cloud.launch_templates
    with pytest.raises(InvalidParameterValue):
        manager.create(demo, "us-east-1", "huge", {"UserData": "x" * MAX_DATA})
    assert not LaunchTemplate.select().where(LaunchTemplate.name == "huge").exists()
    template, _ = manager.create(demo, "us-east-1", "small", {})
    with pytest.raises(InvalidParameterValue):
        manager.add_version(demo, template, {"UserData": "x" * MAX_DATA})
    assert manager.latest_numbers([template]) == {template.id: 1}
    # A tag refused at creation leaves no template behind.
    with pytest.raises(InvalidParameterValue):
        manager.create(demo, "us-east-1", "bad-tag", {}, tags={"aws:reserved": "x"})
    assert not LaunchTemplate.select().where(LaunchTemplate.name == "bad-tag").exists()


def test_versions_made_at_once_get_distinct_numbers(cloud, demo):
    manager = cloud.launch_templates
    template, _ = manager.create(demo, "us-east-1", "busy", {})
    errors = []

    def add():
        try:
            with cloud.database.connection_context():
                for _ in range(5):
                    manager.add_version(demo, template, {})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = [v.number for v in manager.versions(template)]
    assert numbers == list(range(1, 22))


def test_a_repeated_client_token_answers_the_first_request(cloud, demo):
    manager = cloud.launch_templates
    template, version = manager.create(demo, "us-east-1", "tokened", {"a": 1}, client_token="t-1")
    again, same = manager.create(demo, "us-east-1", "tokened", {"a": 1}, client_token="t-1")
    assert (again.id, same.id) == (template.id, version.id)
    with pytest.raises(InvalidParameterValue) as info:
        manager.create(demo, "us-east-1", "tokened-2", {"a": 1}, client_token="t-1")
    assert info.value.details.get("param") == "clienttoken"
    v2 = manager.add_version(demo, template, {"b": 2}, client_token="v-1")
    assert manager.add_version(demo, template, {"b": 2}, client_token="v-1").id == v2.id
    assert manager.latest_numbers([template]) == {template.id: 2}
