"""Domains, accounts, users, API keys and resource limits."""
from __future__ import annotations

from backends.api import RESOURCE_TYPES, InvalidParameterValue
from native_api import fields as f
from native_api.commands.jobs import submit
from native_api.registry import ADMINS, LIST, SUCCESS, command
from native_api.views.accounts import Account, Domain, RegisteredKeys, ResourceLimit, User, UserKeys

USER_FIELDS = {
    "username": f.String("Unique username.", required=True),
    "password": f.String("Clear text password (Default hashed to SHA256SALT). If you wish to use any other "
                         "hashing algorithm, you would need to write a custom authentication adapter See Docs "
                         "section.", required=True),
    "email": f.String("email", required=True),
    "firstname": f.String("firstname", required=True),
    "lastname": f.String("lastname", required=True),
    "timezone": f.String("Specifies a timezone for this command. For more information on the timezone "
                         "parameter, see Time Zone Format."),
}


# ---------------------------------------------------------------------------- domains

@command("createDomain", params={
    "name": f.String("creates domain with this name", required=True),
    "parentdomainid": f.Uuid("Domain", "assigns new domain a parent domain by domain ID of the parent.  If no "
                                       "parent domain is specied, the ROOT domain is assumed."),
    "networkdomain": f.String("Network domain for networks in the domain"),
}, roles=ADMINS, response=Domain, description="Creates a domain")
def create_domain(call):
    return call.cloud.accounts.create_domain(call.caller, call.params["name"], call.get("parentdomainid"),
                                             network_domain=call.get("networkdomain"))


@command("listDomains", params={
    "id": f.Uuid("Domain", "List domain by domain ID."),
    "name": f.String("List domain by domain name."),
    "level": f.Integer("List domains by domain level."),
    "listall": f.Boolean("If set to false, list only resources belonging to the command's caller; if set to "
                         "true - list resources that the caller is authorized to see. Default value is false"),
    "details": f.List("comma separated list of domain details requested, value can be a list of [ all, "
                      "resource, min]"),
}, roles=ADMINS, shape=LIST, response=Domain, description="Lists domains and provides detailed information for "
                                                          "listed domains")
def list_domains(call):
    return call.cloud.accounts.list_domains(
        call.caller, domain=call.get("id"), name=call.get("name"), level=call.get("level"),
        listall=call.get("listall", False), keyword=call.get("keyword"), **call.paging())


# --------------------------------------------------------------------------- accounts

@command("createAccount", params={
    **USER_FIELDS,
    "accounttype": f.Short("Type of the account.  Specify 0 for user, 1 for root admin, and 2 for domain "
                           "admin"),
    "roleid": f.Uuid("Role", "Creates the account under the specified role."),
    "account": f.String("Name of the account to be created. The user will be added to this newly created "
                        "account. If no account is specified, the username will be used as the account name."),
    "domainid": f.Uuid("Domain", "Creates the user under the specified domain."),
    "networkdomain": f.String("Network domain for the account's networks"),
}, roles=ADMINS, response=Account, description="Creates an account")
def create_account(call):
    p = call.params
    return call.cloud.accounts.create_account(
        call.caller, username=p["username"], password=p["password"], email=p["email"],
        firstname=p["firstname"], lastname=p["lastname"], account_type=call.get("accounttype"),
        role=call.get("roleid"), account_name=call.get("account"), domain=call.get("domainid"),
        timezone=call.get("timezone"), network_domain=call.get("networkdomain"))


@command("listAccounts", params={
    "id": f.Uuid("Account", "list account by account ID"),
    "name": f.String("list account by account name"),
    "accounttype": f.Integer("list accounts by account type. Valid account types are 1 (admin), 2 "
                             "(domain-admin), and 0 (user)."),
    "state": f.String("list accounts by state. Valid states are enabled, disabled, and locked."),
    "listall": f.Boolean("If set to false, list only resources belonging to the command's caller; if set to "
                         "true - list resources that the caller is authorized to see. Default value is false"),
    "domainid": f.Uuid("Domain", "list only resources belonging to the domain specified"),
    "isrecursive": f.Boolean("defaults to false, but if true, lists all resources from the parent specified "
                             "by the domainId till leaves."),
    "details": f.List("comma separated list of account details requested, value can be a list of [ all, "
                      "resource, min]"),
}, shape=LIST, response=Account, description="Lists accounts and provides detailed account information for "
                                             "listed accounts")
def list_accounts(call):
    return call.cloud.accounts.list_accounts(
        call.caller, id=call.get("id"), name=call.get("name"), account_type=call.get("accounttype"),
        state=call.get("state"), keyword=call.get("keyword"), listall=call.get("listall", False),
        domain=call.get("domainid"), isrecursive=call.get("isrecursive", False), **call.paging())


@command("deleteAccount", params={"id": f.Uuid("Account", "Account id", required=True)}, roles=ADMINS,
         isasync=True, shape=SUCCESS,
         description="Deletes a account, and all users associated with this account")
def delete_account(call):
    account = call.params["id"]
    work = call.cloud.accounts.delete_account_work(call.caller, account)
    return submit(call, work, instance=account, instance_type="Account", sync_key=f"account:{account.id}")


ACCOUNT_BY_NAME = {
    "id": f.Uuid("Account", "Account id"),
    "account": f.String("Account name"),
    "domainid": f.Uuid("Domain", "Domain id of the account"),
}


def _named_account(call):
    return call.cloud.accounts.find_account(call.caller, id=call.get("id"), name=call.get("account"),
                                            domain=call.get("domainid"))


@command("disableAccount", params={
    **ACCOUNT_BY_NAME,
    "lock": f.Boolean("If true, only lock the account; else disable the account", required=True),
}, roles=ADMINS, isasync=True, response=Account, description="Disables an account")
def disable_account(call):
    account = _named_account(call)
    work = call.cloud.accounts.disable_account_work(call.caller, account, lock=call.params["lock"])
    return submit(call, work, instance=account, instance_type="Account", sync_key=f"account:{account.id}")


@command("enableAccount", params=ACCOUNT_BY_NAME, roles=ADMINS, response=Account,
         description="Enables an account")
def enable_account(call):
    return call.cloud.accounts.enable_account(call.caller, _named_account(call))


@command("lockAccount", params={
    "account": f.String("Locks the specified account.", required=True),
    "domainid": f.Uuid("Domain", "Locks the specified account on this domain.", required=True),
}, roles=ADMINS, response=Account, description="This deprecated function used to locks an account. Look for the "
                                               "API DisableAccount instead")
def lock_account(call):
    return call.cloud.accounts.lock_account(call.caller, _named_account(call))


# ------------------------------------------------------------------------------ users

@command("createUser", params={
    **USER_FIELDS,
    "account": f.String("Creates the user under the specified account. If no account is specified, the "
                        "username will be used as the account name.", required=True),
    "domainid": f.Uuid("Domain", "Creates the user under the specified domain. Has to be accompanied with the "
                                 "account parameter"),
}, roles=ADMINS, response=User, description="Creates a user for an account that already exists")
def create_user(call):
    p = call.params
    return call.cloud.accounts.create_user(
        call.caller, account_name=p["account"], domain=call.get("domainid"), username=p["username"],
        password=p["password"], email=p["email"], firstname=p["firstname"], lastname=p["lastname"],
        timezone=call.get("timezone"))


@command("listUsers", params={
    "id": f.Uuid("User", "List user by ID."),
    "username": f.String("List user by the username"),
    "accounttype": f.Integer("List users by account type. Valid types include admin, domain-admin, read-only-"
                             "admin, or user."),
    "state": f.String("List users by state of the user account."),
    "account": f.String("list resources by account. Must be used with the domainId parameter."),
    "listall": f.Boolean("If set to false, list only resources belonging to the command's caller; if set to "
                         "true - list resources that the caller is authorized to see. Default value is false"),
    "domainid": f.Uuid("Domain", "list only resources belonging to the domain specified"),
    "isrecursive": f.Boolean("defaults to false, but if true, lists all resources from the parent specified "
                             "by the domainId till leaves."),
}, shape=LIST, response=User, description="Lists user accounts")
def list_users(call):
    return call.cloud.accounts.list_users(
        call.caller, id=call.get("id"), username=call.get("username"), account_type=call.get("accounttype"),
        state=call.get("state"), keyword=call.get("keyword"), listall=call.get("listall", False),
        domain=call.get("domainid"), isrecursive=call.get("isrecursive", False),
        account_name=call.get("account"), **call.paging())


@command("registerUserKeys", params={"id": f.Uuid("User", "User id", required=True)}, response=RegisteredKeys,
         description="This command allows a user to register for the developer API, returning a secret key and "
                     "an API key. This request is made through the integration API port, so it is a privileged "
                     "command and must be made on behalf of a user. It is up to the implementer just how the "
                     "username and password are entered, and then how that translates to an integration API "
                     "request. Both secret key and API key should be returned to the user")
def register_user_keys(call):
    return call.cloud.accounts.register_user_keys(call.caller, call.params["id"])


@command("getUserKeys", params={"id": f.Uuid("User", "ID of the user whose keys are required", required=True)},
         response=UserKeys, description="This command allows the user to query the seceret and API keys for the "
                                        "account")
def get_user_keys(call):
    return call.cloud.accounts.get_user_keys(call.caller, call.params["id"])


@command("disableUser", params={"id": f.Uuid("User", "Disables user by user ID.", required=True)}, roles=ADMINS,
         isasync=True, response=User, description="Disables a user account")
def disable_user(call):
    user = call.params["id"]
    work = call.cloud.accounts.disable_user_work(call.caller, user)
    return submit(call, work, instance=user, instance_type="User", sync_key=f"account:{user.account_id}")


@command("enableUser", params={"id": f.Uuid("User", "Enables user by user ID.", required=True)}, roles=ADMINS,
         response=User, description="Enables a user account")
def enable_user(call):
    return call.cloud.accounts.enable_user(call.caller, call.params["id"])


@command("lockUser", params={"id": f.Uuid("User", "Locks user by user ID.", required=True)}, roles=ADMINS,
         response=User, description="Locks a user account")
def lock_user(call):
    return call.cloud.accounts.lock_user(call.caller, call.params["id"])


# --------------------------------------------------------------------- resource limits

LIMIT_TYPE_HELP = ("Type of resource. Values are 0, 1, 2, 3, 4, 6, 7, 8, 9, 10 and 11. 0 - Instance. 1 - IP. "
                   "2 - Volume. 3 - Snapshot. 4 - Template. 5 - Project. 6 - Network. 7 - VPC. 8 - CPU. "
                   "9 - Memory. 10 - PrimaryStorage. 11 - SecondaryStorage.")
TYPE_NAMES = {name: number for number, name in RESOURCE_TYPES.items()}


def _resource_type(call):
    if call.get("resourcetypename"):
        try:
            return TYPE_NAMES[call.params["resourcetypename"].lower()]
        except KeyError:
            raise InvalidParameterValue(f"Please specify a valid resource type name: {', '.join(TYPE_NAMES)}") \
                from None
    return call.get("resourcetype")


def _limit_owner(call):
    """updateResourceLimit/listResourceLimits name an account (with its domain) or a domain."""
    domain, name = call.get("domainid"), call.get("account")
    if name is None:
        return None, domain
    return call.cloud.accounts.owner_for(call.caller, name, domain), None


@command("listResourceLimits", params={
    "id": f.Long("Lists resource limits by ID."),
    "resourcetype": f.Integer(LIMIT_TYPE_HELP),
    "resourcetypename": f.String("Type of resource (wins over resourceType if both are provided). Values are: "
                                 "user_vm, public_ip, volume, snapshot, template, project, network, vpc, cpu, "
                                 "memory, primary_storage, secondary_storage"),
    "account": f.String("list resources by account. Must be used with the domainId parameter."),
    "domainid": f.Uuid("Domain", "list only resources belonging to the domain specified"),
    "isrecursive": f.Boolean("defaults to false, but if true, lists all resources from the parent specified "
                             "by the domainId till leaves."),
    "listall": f.Boolean("If set to false, list only resources belonging to the command's caller; if set to "
                         "true - list resources that the caller is authorized to see. Default value is false"),
}, shape=LIST, response=ResourceLimit, description="Lists resource limits.")
def list_resource_limits(call):
    account, domain = _limit_owner(call)
    return call.cloud.limits.list_limits(call.caller, resource_type=_resource_type(call), account=account,
                                         domain=domain, isrecursive=call.get("isrecursive", False),
                                         id=call.get("id"), keyword=call.get("keyword"), **call.paging())


@command("updateResourceLimit", params={
    "resourcetype": f.Integer(LIMIT_TYPE_HELP, required=True),
    "max": f.Long("Maximum resource limit."),
    "account": f.String("Update resource for a specified account. Must be used with the domainId parameter."),
    "domainid": f.Uuid("Domain", "Update resource limits for all accounts in specified domain. If used with "
                                 "the account parameter, updates resource limits for a specified account in "
                                 "specified domain."),
}, roles=ADMINS, response=ResourceLimit, description="Updates resource limits for an account or domain.")
def update_resource_limit(call):
    account, domain = _limit_owner(call)
    return call.cloud.limits.update_limit(call.caller, call.params["resourcetype"], call.get("max"),
                                          account=account, domain=domain)
