"""Where the demo keys go: printed, an AWS-style credentials file, a cloudmonkey config."""
from __future__ import annotations

import os

from server.settings import Settings, without_password


def write(settings: Settings, creds) -> None:
    if not creds:
        return
    os.makedirs(settings.data_dir, exist_ok=True)
    lines = []
    for c in creds:
        lines += [f"[{c.name}]", f"aws_access_key_id = {c.api_key}", f"aws_secret_access_key = {c.secret_key}",
                  f"region = {settings.region}", ""]
    _write_private(os.path.join(settings.data_dir, "credentials"), "\n".join(lines))
    url = f"http://{settings.host}:{settings.port}/client/api"
    cmk = []
    for c in creds:
        cmk += [f"[{c.name}]", f"url = {url}", f"apikey = {c.api_key}", f"secretkey = {c.secret_key}",
                "output = json", "expires = 600", "timeout = 3600", ""]
    _write_private(os.path.join(settings.data_dir, "cloudmonkey.cfg"), "[core]\nprofile = admin\n\n" + "\n".join(cmk))
    # The `cs` client's config: the default group [cloudstack] is the regular user; --region admin for the admin.
    ini = []
    for group, c in [("cloudstack", next((c for c in creds if c.name == "demo"), creds[0]))] + [(c.name, c)
                                                                                              for c in creds]:
        ini += [f"[{group}]", f"endpoint = {url}", f"key = {c.api_key}", f"secret = {c.secret_key}", ""]
    _write_private(os.path.join(settings.data_dir, "cloudstack.ini"), "\n".join(ini))


def describe(settings: Settings, creds) -> str:
    """The start-up banner: where to point clients, with which keys."""
    url = f"http://{settings.host}:{settings.port}"
    out = [f"ec2bridge serving region {settings.region} at {url}",
           f"  native API : {url}/client/api   (CloudStack: cs, cloudmonkey, libcloud)",
           f"  EC2 API    : {url}/   (boto3, awscli: --endpoint-url {url})",
           f"  database   : {without_password(settings.db_url)}", ""]
    # Only the public halves: the banner ends up in service logs, and secrets are never logged.
    out += [f"  {c.role:10} {c.name}: api key {c.api_key}" for c in creds]
    ini = os.path.join(settings.data_dir, "cloudstack.ini")
    out += ["", "  secret keys: in the files below (readable by this user only)",
            f"  credentials: {os.path.join(settings.data_dir, 'credentials')} (AWS profiles admin, demo)",
            f"  cloudmonkey: {os.path.join(settings.data_dir, 'cloudmonkey.cfg')}",
            f"  cs         : CLOUDSTACK_CONFIG={ini} cs listZones   (add --region admin for the admin)",
            f"  aws        : AWS_SHARED_CREDENTIALS_FILE={os.path.join(settings.data_dir, 'credentials')} "
            f"aws --profile demo --endpoint-url {url} ec2 describe-regions", ""]
    return "\n".join(out)


def _write_private(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
