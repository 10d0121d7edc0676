"""Hypervisor drivers: the contract (base.py) and its implementations."""
