"""The seam for the network-element contract, which the networking work will fill.

In CloudStack a network *element* is a provider of network services for guest networks: the virtual router
(DHCP, DNS, user data, source NAT, static NAT, port forwarding, load balancing, VPN), security groups (rules
a hypervisor host applies to a VM's NICs), and external devices. A network offering names which element
provides which service; the network managers then ask the element to ``implement`` a network (e.g. start its
router), ``prepare`` and ``release`` a NIC, apply rules (firewall, NAT, load-balancer, ingress/egress), and
``shutdown``/``destroy`` the network.

Today guest networks are flat (Basic zones) and security-group rules are kept in the database only, so there
is no element to call: this module holds no contract class and no fake implementation on purpose. When the
networking work adds one, it goes here as ``NetworkElement`` (an ABC beside hypervisor.py and storage.py),
one implementation per provider, and the registry in registry.py gains providers the way it has hypervisors.
"""
