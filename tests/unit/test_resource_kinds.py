"""One table of resource kinds in the backend, one per front door keyed by the same names: they must agree.

A kind added on one side only fails here, not at run time with a KeyError or an id nobody can read.
"""
from __future__ import annotations

import types

import pytest

from backends import models as m
from backends.core import kinds, lookup
from ec2bridge import kinds as ec2_kinds
from ec2bridge.actions import tags as ec2_tags
from ec2bridge.errors import Ec2Error
from ec2bridge.ids import ec2_id, uuid_prefix
from native_api import fields as f, kinds as native_kinds
from native_api.commands import tags as native_tags
from native_api.registry import REGISTRY

UUID = "0f4c2a9e-5b7d-4e1a-9c3b-2d8e6f1a7b90"


def test_each_front_doors_table_names_only_backend_kinds():
    assert set(ec2_kinds.KINDS) <= set(kinds.KINDS)
    assert set(native_kinds.KINDS) <= set(kinds.KINDS)


def test_every_backend_kind_has_its_native_row():
    """Any kind can be named by a native uuid parameter, and a job may end with any."""
    assert set(native_kinds.KINDS) == set(kinds.KINDS)


def test_every_taggable_kind_has_its_ec2_row_and_answers_under_its_id():
    for tag_type, kind in kinds.TAGGABLE.items():
        assert kind.entity in ec2_kinds.KINDS, f"{kind.entity} can be tagged but has no EC2 id prefix"
        ec2 = ec2_kinds.KINDS[kind.entity]
        # Its tags are shown under its EC2 id, and that id can be tagged again.
        shown = ec2_tags._described(types.SimpleNamespace(key="k", value="v", resource_type=tag_type,
                                                          resource_uuid=UUID))
        assert shown["ResourceType"] == ec2.resource_type
        assert shown["ResourceId"] == ec2_id(kind.entity, UUID)
        assert ec2.prefix in ec2_tags.TAGGABLE_PREFIXES


def test_every_taggable_kind_can_be_named_by_its_native_resourcetype():
    for tag_type, kind in kinds.TAGGABLE.items():
        for sent in (tag_type, tag_type.lower(), tag_type.upper()):
            assert native_tags.RESOURCE_TYPES[sent.lower()] == (tag_type, kind)


def test_every_entity_a_native_command_resolves_is_a_backend_kind():
    named = set()
    for cmd in REGISTRY.values():
        for field in cmd.params.values():
            if isinstance(field, (f.Uuid, f.List)) and getattr(field, "entity", None):
                named.add(field.entity)
    assert named and named <= set(kinds.KINDS), named - set(kinds.KINDS)


def test_every_kind_ec2_looks_up_by_prefix_is_a_backend_kind():
    assert set(ec2_kinds.ENTITY_OF_PREFIX.values()) <= set(kinds.KINDS)


def test_tags_take_the_kinds_they_took_in_the_order_errors_list_them():
    assert list(kinds.TAGGABLE) == ["UserVm", "Template", "ISO", "Volume", "LaunchTemplate"]
    assert {t: k.entity for t, k in kinds.TAGGABLE.items()} == {
        "UserVm": "VirtualMachine", "Template": "Template", "ISO": "Iso", "Volume": "Volume",
        "LaunchTemplate": "LaunchTemplate"}
    # An ami- id is tagged as a Template (an ISO is the same row), as before the table.
    assert ec2_tags.TAGGABLE_PREFIXES == {"i": "VirtualMachine", "ami": "Template", "vol": "Volume",
                                          "lt": "LaunchTemplate"}
    iso_tag = ec2_tags._described(types.SimpleNamespace(key="k", value="v", resource_type="ISO", resource_uuid=UUID))
    assert (iso_tag["ResourceType"], iso_tag["ResourceId"]) == ("image", "ami-0f4c2a9e5b7d4e1a9")


def test_lookup_reads_the_models_from_the_table():
    assert kinds.KINDS["Iso"].model is kinds.KINDS["Template"].model is m.Template
    assert kinds.KINDS["VirtualMachine"].model is m.VirtualMachine
    with pytest.raises(KeyError):
        lookup.find("NoSuchKind", UUID)


def test_nouns_for_errors():
    assert kinds.noun("VirtualMachine") == "virtual machine"
    assert kinds.noun("Iso") == "ISO"
    assert kinds.noun("Zone") == "resource"
    assert kinds.noun("NoSuchKind") == "resource"


@pytest.mark.parametrize("prefix, code", [
    ("i", "InvalidInstanceID.Malformed"), ("ami", "InvalidAMIID.Malformed"), ("r", "InvalidReservationID.Malformed"),
    ("vol", "InvalidID.Malformed"), ("sg", "InvalidID.Malformed"), ("key", "InvalidID.Malformed"),
    ("lt", "InvalidLaunchTemplateId.Malformed"),
    ("eni", "InvalidID.Malformed"),
])
def test_a_malformed_id_keeps_its_code(prefix, code):
    with pytest.raises(Ec2Error) as info:
        uuid_prefix(prefix, f"{prefix}-nothex")
    assert info.value.code == code
    assert uuid_prefix(prefix, f"{prefix}-0f4c2a9e5b7d4e1a9") == "0f4c2a9e-5b7d-4e1a-9"


def test_job_results_are_shown_with_their_kinds_view():
    assert native_kinds.view_of("VirtualMachine").Meta.object_name == "virtualmachine"
    assert native_kinds.view_of("User").Meta.object_name == "user"
    assert native_kinds.view_of("AsyncJob") is None
    assert native_kinds.view_of(None) is None and native_kinds.view_of("success") is None
