"""A backend NotFound (an object the caller may not see) answers as an unknown id on both APIs."""
from __future__ import annotations

import types

import pytest

from backends.errors import NotFound, ResourceInUse
from ec2bridge.errors import dependent_id, from_cloud_error as ec2_error
from native_api import dispatch, errors
from native_api.registry import Call, Command

UUID = "0f4c2a9e-5b7d-4e1a-9c3b-2d8e6f1a7b90"


def _command(handler):
    return Command(name="startVirtualMachine", handler=handler, params={}, roles=frozenset({"User"}),
                   isasync=False, response=None, shape="object", description="")


def _raise(exc):
    def handler(call):
        raise exc
    return handler


def test_native_names_the_parameter_that_held_the_id_as_for_a_missing_one():
    row = types.SimpleNamespace(uuid=UUID)
    cmd = _command(_raise(NotFound("Unable to find the virtual machine", entity="VirtualMachine", value=UUID)))
    with pytest.raises(errors.ApiError) as info:
        dispatch.execute(cmd, Call(cmd, None, {"id": row, "hostid": None}, None))
    expected = errors.unknown_uuid("startVirtualMachine", "id", UUID)
    assert (info.value.code, info.value.text) == (expected.code, expected.text)


def test_native_id_in_a_list_of_strings():
    cmd = _command(_raise(NotFound("Unable to find the volume", entity="Volume", value=UUID)))
    with pytest.raises(errors.ApiError) as info:
        dispatch.execute(cmd, Call(cmd, None, {"resourceids": ["other", UUID]}, None))
    assert info.value.code == 431 and "parameter resourceids value=" + UUID in info.value.text


def test_native_without_a_parameter_holding_the_id_is_a_plain_431_naming_nothing():
    cmd = _command(_raise(NotFound("Unable to find the account", entity="Account", value=UUID)))
    with pytest.raises(errors.ApiError) as info:
        dispatch.execute(cmd, Call(cmd, None, {"name": "x"}, None))
    assert (info.value.code, info.value.text) == (431, "Unable to find the account")


@pytest.mark.parametrize("entity, code, ec2_id", [
    ("VirtualMachine", "InvalidInstanceID.NotFound", "i-0f4c2a9e5b7d4e1a9"),
    ("Template", "InvalidAMIID.NotFound", "ami-0f4c2a9e5b7d4e1a9"),
    ("SecurityGroup", "InvalidGroup.NotFound", "sg-0f4c2a9e5b7d4e1a9"),
    ("SSHKeyPair", "InvalidKeyPair.NotFound", "key-0f4c2a9e5b7d4e1a9"),
    ("Volume", "InvalidVolume.NotFound", "vol-0f4c2a9e5b7d4e1a9"),
])
def test_ec2_answers_the_entitys_not_found_code(entity, code, ec2_id):
    error = ec2_error(NotFound("Unable to find it", entity=entity, value=UUID))
    assert error.code == code and error.status == 400
    assert ec2_id in error.message and UUID not in error.message


def test_ec2_in_use_names_the_dependent_by_its_ec2_id():
    assert dependent_id(ResourceInUse("in use", dependent=("VirtualMachine", UUID))) == "i-0f4c2a9e5b7d4e1a9"
    assert dependent_id(ResourceInUse("in use by 2 VM(s)")) == ""
    assert ec2_error(ResourceInUse("in use")).code == "DependencyViolation"
