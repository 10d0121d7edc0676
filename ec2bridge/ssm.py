"""SSM's public AMI parameters on the EC2 endpoint (emulator mode): ``GetParameter``, ``GetParameters``
and ``GetParametersByPath`` (``POST /`` with ``X-Amz-Target: AmazonSSM.<Action>``, JSON 1.1 protocol,
through botocore's SSM model) and ``RunInstances ImageId=resolve:ssm:<name>``.

The parameters of a region are those AWS publishes and moto serves:
``/aws/service/ami-amazon-linux-latest/*`` (the catalogue's, naming the region's latest Amazon Linux
AMIs), plus Canonical's ``/aws/service/canonical/ubuntu/server/<release>/stable/<current|serial>/
<arch>/hvm/ebs-gp2/ami-id`` (``<release>`` as version, 16.04, and as codename, xenial), derived here
from the Ubuntu images the region's catalogue has from Canonical's account (``hvm-ssd`` images are
what Canonical publishes as ``ebs-gp2``; ``current`` is the newest serial of a release). moto has no
Canonical parameters; these name only images the catalogue serves, so every alias launches.

Only emulator mode serves them: a private cloud's images are not AWS's, and an alias claiming that
one of its templates is "the latest Amazon Linux 2023" would be a guess. A strict-mode request
answers ``UnknownOperationException`` saying so.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import re
import uuid
from functools import lru_cache
from typing import Callable

from ec2bridge import catalogue, codec, json_codec
from ec2bridge.errors import Ec2Error, shown
from ec2bridge.json_codec import JsonError

log = logging.getLogger(__name__)
TARGET_PREFIX = "AmazonSSM."
CONTENT_TYPE = "application/x-amz-json-1.1"
CANONICAL = "099720109477"
# Canonical's image names: ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-20170721
_UBUNTU = re.compile(r"ubuntu/images/hvm-ssd/ubuntu-(?P<codename>[a-z]+)-(?P<version>\d\d\.\d\d)-"
                     r"(?P<arch>amd64|arm64)-server-(?P<serial>\d{8}(?:\.\d+)?)")
ONLY_EMULATED = ("This server serves SSM's public AMI parameters in emulator mode only (--emulator); "
                 "its images are not AWS's")
# The errors the SigV4 checks raise, as a JSON service words them.
_AUTH_CODES = {"AuthFailure": "UnrecognizedClientException", "IncompleteSignature": "IncompleteSignatureException",
               "MissingParameter": "MissingAuthenticationTokenException",
               "RequestExpired": "InvalidSignatureException"}
BY_PATH_FILTER_KEYS = ("Type", "KeyId", "Label", "DataType")


def is_ssm(headers) -> bool:
    return (headers.get("X-Amz-Target") or "").startswith(TARGET_PREFIX)


def respond(headers, body: bytes, identify: Callable[[str], str], *, enabled: bool) -> tuple[int, bytes, dict]:
    """(status, body, headers) of an SSM request; ``identify(action)`` names its caller's account as emulator
    mode does (any key) and answers the region it is signed for, raising the EC2 endpoint's auth errors."""
    request_id = str(uuid.uuid4())
    out_headers = {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id}
    try:
        action = headers.get("X-Amz-Target", "")[len(TARGET_PREFIX):]
        if not enabled:
            raise JsonError("UnknownOperationException", ONLY_EMULATED)
        try:
            region = identify(action)
        except Ec2Error as exc:
            raise JsonError(_AUTH_CODES.get(exc.code, "UnrecognizedClientException"), exc.message) from None
        handler = ACTIONS.get(action)
        if handler is None:
            raise JsonError("UnknownOperationException", f"The action {shown(action)} is not served here: "
                                                         f"only {', '.join(sorted(ACTIONS))} (public parameters)")
        op = codec.service_model("ssm").operation_model(action)
        return 200, json_codec.encode(op, handler(region, json_codec.decode(op, body))), out_headers
    except JsonError as exc:
        return exc.status, exc.body(), out_headers
    except Exception:  # a bug: answer as SSM does, never with an HTML page
        log.exception("SSM request %s failed", request_id)
        return 500, JsonError("InternalServerError", "An internal error has occurred").body(), out_headers


# ----------------------------------------------------------------- the parameters

@lru_cache(maxsize=64)
def parameters(region: str) -> dict[str, dict]:
    """The region's public parameters by name, in name order (boto3-shaped Parameter items)."""
    found = {}
    for record in catalogue.ssm_parameters(region):
        found[record["Name"]] = _parameter(region, record["Name"], record["Value"], record["Version"],
                                           dt.datetime.fromtimestamp(record["LastModifiedDate"], dt.timezone.utc),
                                           record["Type"], record["DataType"])
    for name, image in _ubuntu_aliases(region).items():
        created = dt.datetime.strptime(image["serial"][:8], "%Y%m%d").replace(tzinfo=dt.timezone.utc)
        found[name] = _parameter(region, name, image["ami_id"], 1, created)
    return dict(sorted(found.items()))


def _parameter(region: str, name: str, value: str, version: int, modified: dt.datetime, kind: str = "String",
               data_type: str = "text") -> dict:
    # A public parameter is AWS's: its ARN names no account.
    return {"Name": name, "Type": kind, "Value": value, "Version": version, "LastModifiedDate": modified,
            "ARN": f"arn:{_partition(region)}:ssm:{region}::parameter{name}", "DataType": data_type}


def _ubuntu_aliases(region: str) -> dict[str, dict]:
    """Canonical's parameter names for the region's Canonical Ubuntu images (see the module's docstring)."""
    releases: dict[tuple, list[dict]] = {}
    for record in catalogue.images(region):
        match = _UBUNTU.fullmatch(record["name"]) if record.get("owner_id") == CANONICAL else None
        if match:
            key = (match["version"], match["codename"], match["arch"])
            releases.setdefault(key, []).append({"ami_id": record["ami_id"], "serial": match["serial"]})
    aliases = {}
    for (version, codename, arch), images in releases.items():
        images.sort(key=lambda image: image["serial"])
        for release in (version, codename):
            base = f"/aws/service/canonical/ubuntu/server/{release}/stable"
            for image in images:
                aliases[f"{base}/{image['serial']}/{arch}/hvm/ebs-gp2/ami-id"] = image
            aliases[f"{base}/current/{arch}/hvm/ebs-gp2/ami-id"] = images[-1]
    return aliases


def _partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def lookup(region: str, name: str) -> dict:
    """The parameter ``name`` (a name or ARN, with an optional ``:version`` selector) names; SSM's
    ParameterNotFound / ParameterVersionNotFound when none."""
    plain = name
    if plain.startswith("arn:"):
        parts = plain.split(":", 5)
        plain = parts[5][len("parameter"):] if len(parts) == 6 and parts[5].startswith("parameter/") else ""
    selector = None
    if ":" in plain:
        plain, selector = plain.rsplit(":", 1)
    found = parameters(region).get(plain)
    if found is None or (selector is not None and not selector.isdigit()):  # public parameters have no labels
        raise JsonError("ParameterNotFound", f"Parameter {shown(name)} not found.")
    if selector is not None:
        if int(selector) != found["Version"]:
            raise JsonError("ParameterVersionNotFound", f"Systems Manager could not find version {selector} of "
                                                        f"{plain}. Verify the version and try again.")
        return {**found, "Selector": f":{selector}"}
    return found


RESOLVE_SSM = "resolve:ssm:"  # ImageId=resolve:ssm:<parameter name>: the AMI id an SSM parameter holds


def resolve_image(region: str, image_id: str, *, served: bool) -> str:
    """The AMI id an ImageId of ``resolve:ssm:<name>[:<version>]`` stands for: an SSM public parameter of the
    region (``served`` in emulator mode only); AWS's InvalidParameterValue when it names none."""
    name = image_id[len(RESOLVE_SSM):]
    resolved = resolve(region, name) if served else None
    if resolved is None:
        raise Ec2Error("InvalidParameterValue", f"Invalid value '{image_id}' for parameter ImageId: the SSM "
                                                f"parameter {name} does not exist or cannot be resolved")
    return resolved


def resolve(region: str, name: str) -> str | None:
    """The AMI id ``resolve:ssm:<name>`` stands for in ``region``, or None."""
    try:
        return lookup(region, name)["Value"]
    except JsonError:
        return None


# ----------------------------------------------------------------- actions

def get_parameter(region: str, args: dict) -> dict:
    return {"Parameter": lookup(region, args["Name"])}


def get_parameters(region: str, args: dict) -> dict:
    found, invalid = [], []
    for name in dict.fromkeys(args["Names"]):
        try:
            found.append(lookup(region, name))
        except JsonError:
            invalid.append(name)
    return {"Parameters": found, "InvalidParameters": invalid}


def get_parameters_by_path(region: str, args: dict) -> dict:
    path = args["Path"]
    if not path.startswith("/"):
        raise JsonError("ValidationException", f"The path {shown(path)} is not valid: a parameter "
                                               "hierarchy path must begin with a forward slash (/)")
    matches = _by_path_filters(args.get("ParameterFilters") or [])
    prefix = path.rstrip("/") + "/"
    recursive = bool(args.get("Recursive"))
    items = [p for name, p in parameters(region).items()
             if name.startswith(prefix) and (recursive or "/" not in name[len(prefix):]) and matches(p)]
    size, token = args.get("MaxResults", 10), args.get("NextToken")
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("path:"))
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise JsonError("InvalidNextToken", "The specified token isn't valid.") from None
    out = {"Parameters": items[start:start + size]}
    if start + size < len(items):
        out["NextToken"] = base64.urlsafe_b64encode(f"path:{start + size}".encode()).decode()
    return out


def _by_path_filters(filters: list[dict]) -> Callable[[dict], bool]:
    """The ParameterFilters GetParametersByPath takes (Type, KeyId, Label, DataType; tag:KEY), as one test."""
    tests, seen = [], set()
    for flt in filters:
        key, option, values = flt["Key"], flt.get("Option", "Equals"), flt.get("Values") or []
        if key not in BY_PATH_FILTER_KEYS and not key.startswith("tag:"):
            raise JsonError("InvalidFilterKey", f"The following filter key is not valid: {key}. Valid filter keys "
                                                f"include: [{', '.join(BY_PATH_FILTER_KEYS)}].")
        if key in seen:
            raise JsonError("InvalidFilterKey", f"The following filter is duplicated in the request: {key}. A "
                                                "request can contain only one occurrence of a specific filter.")
        seen.add(key)
        if option not in ("Equals", "BeginsWith"):
            raise JsonError("InvalidFilterOption", f"The following filter option is not valid: "
                                                   f"{shown(option)}. Valid options include: [BeginsWith, Equals].")
        if not values and not key.startswith("tag:"):
            raise JsonError("InvalidFilterValue", f"The following filter values are missing : null for filter "
                                                  f"key {key}.")
        if key == "Type":
            for value in values:
                if value not in ("String", "StringList", "SecureString"):
                    raise JsonError("InvalidFilterValue", f"The following filter value is not valid: "
                                                          f"{shown(value)}. Valid values include: "
                                                          "[String, StringList, SecureString].")
        if key in ("Type", "DataType"):
            tests.append(_matcher(key, option, values))
        else:
            # No public parameter is encrypted (KeyId), labelled or tagged: such a filter keeps none.
            tests.append(lambda parameter: False)
    return lambda parameter: all(test(parameter) for test in tests)


def _matcher(key: str, option: str, values: list[str]) -> Callable[[dict], bool]:
    if option == "BeginsWith":
        return lambda parameter: any(parameter[key].startswith(v) for v in values)
    return lambda parameter: parameter[key] in values


ACTIONS = {"GetParameter": get_parameter, "GetParameters": get_parameters,
           "GetParametersByPath": get_parameters_by_path}
