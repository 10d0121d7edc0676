"""Emulator mode's settings: the default account and each zone's capacity, from flags or the environment."""
from __future__ import annotations

import pytest

from server.settings import Settings, StartupError


def test_defaults_are_motos_account_and_room_for_ten_thousand(monkeypatch):
    monkeypatch.delenv("EC2BRIDGE_EMULATOR_ACCOUNT", raising=False)
    monkeypatch.delenv("EC2BRIDGE_EMULATOR_CAPACITY", raising=False)
    settings = Settings.from_env()
    assert (settings.emulator_account, settings.emulator_capacity) == ("123456789012", 10_000)


def test_the_environment_and_flags_set_them(monkeypatch):
    monkeypatch.setenv("EC2BRIDGE_EMULATOR_ACCOUNT", "000000000000")
    monkeypatch.setenv("EC2BRIDGE_EMULATOR_CAPACITY", "500")
    assert (Settings.from_env().emulator_account, Settings.from_env().emulator_capacity) == ("000000000000", 500)
    flagged = Settings.from_env(emulator_account="111122223333", emulator_capacity="20000")
    assert (flagged.emulator_account, flagged.emulator_capacity) == ("111122223333", 20_000)


@pytest.mark.parametrize("account", ["12345678901", "1234567890123", "12345678901a", "١٢٣٤٥٦٧٨٩٠١٢"])
def test_an_account_that_is_no_12_digit_id_stops_the_start(account):
    with pytest.raises(StartupError, match="12-digit AWS account id"):
        Settings.from_env(emulator_account=account)


def test_a_capacity_that_is_no_positive_number_stops_the_start():
    with pytest.raises(StartupError, match="emulator capacity"):
        Settings.from_env(emulator_capacity="0")
