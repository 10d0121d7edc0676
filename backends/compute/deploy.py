"""Deploying VMs: the checks, then the rows of N alike VMs (each with its NIC and ROOT volume) counted
against limits, all or none, in one transaction, with the jobs that will start them."""
from __future__ import annotations

import json

import peewee as pw

from backends.compute.offerings import MAX_DISK_GB
from backends.compute.vm_rules import GiB, check_user_data, limits_of, password, shape_of, sync_key
from backends.context import Caller
from backends.core.events import EventManager
from backends.core.jobs import JobManager, JobResult
from backends.db import objects, write_tx
from backends.errors import InvalidParameterValue, PermissionDenied
from backends.identity.accounts import AccountManager
from backends.identity.keypairs import KeyPairManager
from backends.identity.limits import ResourceLimitManager
from backends.infra.infrastructure import InfrastructureManager
from backends.models import Host, ServiceOffering, Template, VirtualMachine, Volume, Zone
from backends.network.networks import NetworkManager
from backends.network.securitygroups import SecurityGroupManager
from backends.storage.templates import TemplateManager
from backends.uuids import new_uuid, token_hex


class VmDeployer:
    def __init__(self, accounts: AccountManager, limits: ResourceLimitManager, keypairs: KeyPairManager,
                 templates: TemplateManager, networks: NetworkManager, security_groups: SecurityGroupManager,
                 infra: InfrastructureManager, jobs: JobManager, events: EventManager):
        self.accounts = accounts
        self.limits = limits
        self.keypairs = keypairs
        self.templates = templates
        self.networks = networks
        self.security_groups = security_groups
        self.infra = infra
        self.jobs = jobs
        self.events = events

    def deploy(self, caller: Caller, **kwargs) -> VirtualMachine:
        """Create one VM (Stopped), its NIC and ROOT volume; see :meth:`deploy_many`."""
        return self.deploy_many(caller, count=1, **kwargs)[0]

    def deploy_many(self, caller: Caller, *, count: int, zone: Zone, offering: ServiceOffering, template: Template,
                    owner=None, name: str | None = None, display_name: str | None = None,
                    user_data: str | None = None, key_pair: str | None = None, ssh_public_key: str | None = None,
                    root_disk_size_gb: int | None = None, group: str | None = None, host: Host | None = None,
                    details: dict | None = None, request_ip: str | None = None, launch_group: str | None = None,
                    client_token: str | None = None, security_groups: list | None = None,
                    job_command: str | None = None) -> list[VirtualMachine]:
        """Create ``count`` VMs (Stopped) alike, each with its NIC and ROOT volume, counting them against
        limits: all of them or none, in one transaction.

        Starting them is separate (:meth:`VmStarter.start_work`), so the API can answer with
        the new ids at once and run the starts in jobs. With ``job_command`` each VM's
        job is created in the same transaction (``vm.deploy_job``, to schedule or
        withdraw): a crash can never leave a VM that no job explains.
        """
        account = owner or self.accounts.get_caller_account(caller)
        if count > 1 and (name or request_ip):
            raise InvalidParameterValue("A name or an IP address can be given to one VM only")
        if zone.removed is not None or (zone.allocation_state != "Enabled" and not caller.is_root_admin):
            raise InvalidParameterValue(f"Zone {zone.uuid} is not available for deployment")
        if offering.removed is not None or offering.is_system:
            raise InvalidParameterValue(f"Service offering {offering.uuid} is not available")
        if offering.is_customized and not details:
            raise InvalidParameterValue("Custom service offering needs cpuNumber, cpuSpeed and memory details")
        if template.removed is not None:
            raise InvalidParameterValue(f"Template {template.uuid} has been removed")
        if not (template.is_public or template.account_id == account.id or caller.is_root_admin):
            raise PermissionDenied(f"Account {account.name} does not have permission to use template "
                                   f"{template.uuid}")
        if host is not None and not caller.is_root_admin:
            raise PermissionDenied("Parameter hostid can only be specified by a Root Admin, permission denied")
        copy = self.templates.get_ready_copy(template, zone)
        if key_pair and ssh_public_key is None:
            pair = self.keypairs.get(caller, key_pair, owner=account)
            if pair is None:
                raise InvalidParameterValue(f"A key pair with name '{key_pair}' was not found for account "
                                            f"{account.name}")
            ssh_public_key = pair.public_key
        if user_data is not None:
            check_user_data(user_data)
        if root_disk_size_gb is not None and not 1 <= root_disk_size_gb <= MAX_DISK_GB:
            raise InvalidParameterValue(f"The root disk size must be 1 to {MAX_DISK_GB} GB, not {root_disk_size_gb}")
        cpus, speed, memory = shape_of(offering, details or {})
        root_bytes = max(copy.size or GiB, (root_disk_size_gb or offering.root_disk_size or 0) * GiB)
        network = self.networks.default_network(zone, account)
        groups = list(security_groups or [])
        if not groups and zone.security_groups_enabled:
            groups = [self.security_groups.default_group(account)]
        # A template made for one hypervisor runs there; a generic one (an ISO) on the zone's.
        hypervisor = template.hypervisor if template.hypervisor not in ("None", "Any", "") else \
            self.infra.zone_hypervisor(zone)
        created = []
        with write_tx():
            self.limits.reserve(account, {k: v * count for k, v in limits_of(cpus, memory, root_bytes).items()})
            if count > 1 and name is None and request_ip is None:  # alike VMs (a launch's): in bulk
                created = self._create_many(caller, account, zone, offering, template, network, groups, count,
                                            hypervisor=hypervisor, display_name=display_name, cpus=cpus,
                                            speed=speed, memory=memory, root_bytes=root_bytes, group=group,
                                            user_data=user_data, key_pair=key_pair, ssh_public_key=ssh_public_key,
                                            details=details, launch_group=launch_group, client_token=client_token)
            for _ in range(count - len(created)):
                created.append(self._create(caller, account, zone, offering, template, network, groups,
                                            hypervisor=hypervisor, name=name, display_name=display_name, cpus=cpus,
                                            speed=speed, memory=memory, root_bytes=root_bytes, group=group,
                                            user_data=user_data, key_pair=key_pair, ssh_public_key=ssh_public_key,
                                            details=details, request_ip=request_ip, launch_group=launch_group,
                                            client_token=client_token))
            if job_command is not None:
                jobs = self.jobs.create(caller, job_command, [("VirtualMachine", vm.uuid, sync_key(vm))
                                                              for vm in created])
                for vm, job in zip(created, jobs):
                    vm.deploy_job = job
        return created

    def _create(self, caller, account, zone, offering, template, network, groups, *, hypervisor, name,
                display_name, cpus, speed, memory, root_bytes, group, user_data, key_pair, ssh_public_key, details,
                request_ip, launch_group, client_token) -> VirtualMachine:
        """The rows of one new VM (inside the deploy's transaction)."""
        vm = VirtualMachine.create(
            name=name or "", display_name=display_name or name or "", instance_name=token_hex(8),
            account=account.id, domain=account.domain_id, user=caller.user_id, zone=zone.id,
            template=template.id, service_offering=offering.id, cpu_number=cpus, cpu_speed=speed,
            memory=memory, state="Stopped", hypervisor=hypervisor, os_type=template.os_type_id,
            ha_enabled=offering.offer_ha, group=group, user_data=user_data, key_pair=key_pair,
            details=json.dumps({**(details or {}), **({"SSH.PublicKey": ssh_public_key} if ssh_public_key
                                                      else {})}),
            is_dynamically_scalable=template.is_dynamically_scalable,
            password=password() if template.password_enabled else None,
            launch_group=launch_group, client_token=client_token,
        )
        # CloudStack's naming: i-<account id>-<vm id>-VM; hostname defaults from the uuid.
        vm.instance_name = f"i-{account.id}-{vm.id}-VM"
        vm.name = vm.name or f"VM-{vm.uuid}"
        vm.display_name = vm.display_name or vm.name
        vm.save()
        self.networks.create_nic(vm, network, device_id=0, is_default=True, requested_ip=request_ip)
        self.security_groups.attach(vm, groups)
        Volume.create(name=f"ROOT-{vm.id}", account=account.id, domain=account.domain_id, zone=zone.id,
                      vm=vm.id, device_id=0, volume_type="ROOT", state="Allocated", size=root_bytes,
                      template=template.id, format=template.format)
        self.events.record(caller, "VM.CREATE", f"Successfully created VM {vm.name}", resource=vm)
        return vm

    def _create_many(self, caller, account, zone, offering, template, network, groups, count, *, hypervisor,
                     display_name, cpus, speed, memory, root_bytes, group, user_data, key_pair, ssh_public_key,
                     details, launch_group, client_token) -> list[VirtualMachine]:
        """The rows of ``count`` alike new VMs, as :meth:`_create` makes them, a statement per kind of row
        and hundred VMs (inside the deploy's transaction); oldest first."""
        details_text = json.dumps({**(details or {}), **({"SSH.PublicKey": ssh_public_key} if ssh_public_key
                                                         else {})})
        uuids = [new_uuid() for _ in range(count)]
        rows = [dict(uuid=u, name=f"VM-{u}", display_name=display_name or f"VM-{u}", instance_name=token_hex(8),
                     account=account.id, domain=account.domain_id, user=caller.user_id, zone=zone.id,
                     template=template.id, service_offering=offering.id, cpu_number=cpus, cpu_speed=speed,
                     memory=memory, state="Stopped", hypervisor=hypervisor, os_type=template.os_type_id,
                     ha_enabled=offering.offer_ha, group=group, user_data=user_data, key_pair=key_pair,
                     details=details_text, is_dynamically_scalable=template.is_dynamically_scalable,
                     password=password() if template.password_enabled else None, launch_group=launch_group,
                     client_token=client_token) for u in uuids]
        vms = []
        for start in range(0, count, 100):
            chunk = uuids[start:start + 100]
            VirtualMachine.insert_rows(rows[start:start + 100])
            vms += objects(VirtualMachine.select().where(VirtualMachine.uuid.in_(chunk)).order_by(VirtualMachine.id))
            # CloudStack's naming, i-<account id>-<vm id>-VM, needs the ids the rows got.
            names = [(vm.id, f"i-{account.id}-{vm.id}-VM") for vm in vms[start:]]
            VirtualMachine.update(instance_name=pw.Case(VirtualMachine.id, names)).where(
                VirtualMachine.id.in_([vm_id for vm_id, _ in names])).execute()
            for vm, (_, instance_name) in zip(vms[start:], names):
                vm.instance_name = instance_name
        self.networks.create_nics(vms, network)
        self.security_groups.attach_many(vms, groups)
        volumes = [dict(name=f"ROOT-{vm.id}", account=account.id, domain=account.domain_id, zone=zone.id, vm=vm.id,
                        device_id=0, volume_type="ROOT", state="Allocated", size=root_bytes, template=template.id,
                        format=template.format) for vm in vms]
        Volume.insert_rows(volumes)
        self.events.record_many(caller, "VM.CREATE", [(f"Successfully created VM {vm.name}", vm) for vm in vms])
        return vms

    @staticmethod
    def created_work(vm: VirtualMachine):
        """The job of a deploy with startvm=false: the VM simply stays Stopped."""
        return lambda: JobResult("VirtualMachine", vm.uuid)
