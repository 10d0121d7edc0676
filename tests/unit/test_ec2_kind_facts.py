"""A kind's EC2 facts (id prefix, NotFound code and text) live in its row of ec2bridge/kinds.py alone."""
from __future__ import annotations

import ast
import pathlib

import pytest

from ec2bridge.errors import Ec2Error, not_found
from ec2bridge.ids import ec2_id, uuid_prefix_of
from ec2bridge.kinds import KINDS

ACTIONS = pathlib.Path(__file__).resolve().parents[2] / "ec2bridge" / "actions"
UUID = "0f4c2a9e-5b7d-4e1a-9c3b-2d8e6f1a7b90"
ID_FUNCTIONS = {"to_ec2", "uuid_prefix"}


def _modules():
    return sorted(ACTIONS.glob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_actions_take_prefixes_from_the_table(path):
    """An id built or parsed with a literal prefix would keep a second copy of a kind's prefix."""
    literal = [node.lineno for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ID_FUNCTIONS
               and node.args and isinstance(node.args[0], ast.Constant)]
    assert literal == [], f"{path.name}: literal id prefix on lines {literal}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_actions_take_not_found_codes_from_the_table(path):
    codes = {kind.not_found for kind in KINDS.values()}
    written = [node.lineno for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.Constant) and node.value in codes]
    assert written == [], f"{path.name}: a kind's NotFound code written out on lines {written}"


@pytest.mark.parametrize("entity", sorted(KINDS))
def test_not_found_answers_with_the_row(entity):
    kind = KINDS[entity]
    error = not_found(entity, ec2_id(entity, UUID))
    assert error.code == kind.not_found
    assert error.message == kind.not_found_message.format(f"{kind.prefix}-0f4c2a9e5b7d4e1a9")


def test_not_found_keeps_an_actions_own_wording_under_the_rows_code():
    error = not_found("SecurityGroup", "web", message="The security group '{}' does not exist in default VPC")
    assert (error.code, error.message) == ("InvalidGroup.NotFound",
                                           "The security group 'web' does not exist in default VPC")


def test_uuid_prefix_of_reads_the_kinds_prefix_and_malformed_code():
    assert uuid_prefix_of("VirtualMachine", "i-0f4c2a9e5b7d4e1a9") == "0f4c2a9e-5b7d-4e1a-9"
    with pytest.raises(Ec2Error) as info:
        uuid_prefix_of("Template", "i-0f4c2a9e5b7d4e1a9")
    assert info.value.code == "InvalidAMIID.Malformed"
