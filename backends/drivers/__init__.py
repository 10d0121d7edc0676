"""Drivers: what the managers use to reach hypervisors and storage, behind contracts and a registry.

- ``hypervisor.py``: the hypervisor contract (hosts, VMs, hot-plugged disks); ``storage.py``: the storage
  contract (templates, volumes, snapshots); ``network_element.py``: the seam for network elements;
  ``specs.py``: the values they pass; ``base.py``: ``Driver``, both contracts on one object.
- ``registry.py``: each driver module registers its hypervisor (name, factory, availability, install hint,
  settings); the cloud builds the available ones.
- ``simulator.py`` (+ ``simulator_store.py``): the executable version of the contracts;
  ``libvirt.py`` (+ ``libvirt_storage.py``, ``libvirt_xml.py``, ``libvirt_binding.py``): KVM;
  ``image_store.py``: templates really downloaded for KVM; ``config_drive.py``: a VM's cloud-init data.
"""
