"""login / logout: username and password sessions (cloudmonkey, the UI)."""
from __future__ import annotations

from backends.api import CloudError
from native_api import dispatch, errors, fields as f
from native_api.registry import ALL_ROLES, FLAT, REGISTRY, command


@command("login", params={
    "username": f.String("Username", required=True),
    "password": f.String("Hashed password (default is MD5). If you wish to use any other hashing algorithm, "
                         "you would need to write a custom authentication adapter See Docs section.",
                         required=True),
    "domain": f.String("Path of the domain that the user belongs to. Example: domain=/com/cloud/internal. "
                       "If no domain is passed in, the ROOT (/) domain is assumed."),
    "domainid": f.String("The id of the domain that the user belongs to. If both domain and domainId are "
                         "passed in, \"domainId\" parameter takes precedence."),
}, roles=ALL_ROLES, shape=FLAT, description="Logs a user into the CloudStack.")
def _login_declaration(call):  # answered by native_api.app before dispatch
    raise NotImplementedError


@command("logout", shape=FLAT, description="Logs out the user")
def _logout_declaration(call):  # answered by native_api.app before dispatch
    raise NotImplementedError


def login(cloud, params: dict):
    """Authenticate; returns (answer body, session)."""
    # Checked like any command's parameters (a password sent as password[0].x is a 431, not a crash).
    params = dispatch.validate(REGISTRY["login"], params, cloud)
    username, password = params.get("username"), params.get("password")
    if not username or not password:
        raise errors.ApiError(431, "Unable to execute API command login due to missing parameter "
                                   f"{'username' if not username else 'password'}")
    try:
        caller = cloud.accounts.authenticate_password(
            username, password, domain_path=params.get("domain"), domain_uuid=params.get("domainid"))
    except CloudError as exc:
        raise errors.ApiError(531, exc.message, 4365) from None
    session = cloud.accounts.create_session(caller)
    timeout = cloud.config.get_int("session.timeout")
    body = {
        "username": caller.username, "userid": caller.user_uuid, "domainid": caller.domain_uuid,
        "timeout": timeout, "account": caller.account_name, "firstname": caller.firstname, "lastname": caller.lastname,
        "type": str(caller.account_type), "timezone": "UTC", "timezoneoffset": "0.0", "registered": "false",
        "sessionkey": session.session_key, "is2faenabled": "false", "is2faverified": "true",
    }
    return body, session

