"""The EC2 Query API endpoint: ``POST /`` (and GET, and under ``/awsapi/``).

Per request: keep the raw body, read Action and the form, authenticate with
SigV4 against the caller's API secret (the same keys as the native API), decode
the input through botocore's model, run one action handler, encode its result.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl

from flask import Blueprint, Response, request

from backends.api import DEFAULT_EMULATOR_ACCOUNT, CloudError, PermissionDenied, is_account_number
from ec2bridge import auth, codec, ssm
from ec2bridge.actions import ACTIONS, Context
from ec2bridge.errors import Ec2Error, from_cloud_error

log = logging.getLogger(__name__)
STS_VERSION = "2011-06-15"
# What moto's server answers as the UserId of a key it did not issue.
MOTO_USER_ID = "AKIAIOSFODNN7EXAMPLE"
# The body of a presigned request is not signed, so it may not carry parameters.
PRESIGNED_BODY = ("A presigned request takes its parameters from its signed query string only; send them in the "
                  "query, or sign the request with an Authorization header to send them in the body")


def blueprint(cloud, *, emulator: bool = False, on_reset=None, validate_amis: bool = False,
              emulator_account: str = DEFAULT_EMULATOR_ACCOUNT) -> Blueprint:
    """The EC2 endpoint; in ``emulator`` mode any access key is accepted (a 12-digit key is that account,
    any other unknown key ``emulator_account``), ``POST /moto-api/reset`` restores the demo cloud and a launch
    from an unknown AMI runs on a stand-in (unless ``validate_amis``), as moto's server mode does."""
    bp = Blueprint("ec2", __name__)
    emulated = Emulated(emulator_account, stand_in_images=not validate_amis) if emulator else None

    if emulator:
        @bp.route("/moto-api/reset", methods=["POST"])
        def reset():
            on_reset() if on_reset else cloud.reset()
            return Response('{"status": "ok"}', status=200, content_type="application/json")

        @bp.route("/moto-api/seed", methods=["POST"])
        def seed():
            # As moto's server: ?a=<integer> (query or form); the ids that follow are reproducible from it.
            try:
                a = int(request.values.get("a", ""))
            except ValueError:
                return Response('{"error": "a must be an integer: POST /moto-api/seed?a=<n>"}', status=400,
                                content_type="application/json")
            cloud.seed_ids(a)
            return Response("", status=200)

    @bp.route("/", methods=["GET", "POST"])
    @bp.route("/awsapi/", methods=["GET", "POST"])
    @bp.route("/awsapi", methods=["GET", "POST"])
    def endpoint():
        if ssm.is_ssm(request.headers):  # SSM's JSON protocol on the same endpoint (emulator mode only)
            status, body, headers = ssm.respond(
                request.headers, request.get_data(cache=True),
                lambda action: _emulated(cloud, list(request.args.items(multi=True)), emulated)[1],
                enabled=emulator)
            return Response(body, status=status, headers=headers)
        request_id = str(uuid.uuid4())
        try:
            body = _handle(cloud, request_id, emulated)
            return Response(body, status=200, content_type="text/xml;charset=UTF-8")
        except Ec2Error as exc:
            return Response(codec.error_body([(exc.code, exc.message)], request_id), status=exc.status,
                            content_type="text/xml;charset=UTF-8")
        except Exception:  # a bug: answer as EC2 does, never with an HTML page
            log.exception("EC2 request %s failed", request_id)
            return Response(codec.error_body([("InternalError", "An internal error has occurred")], request_id),
                            status=500, content_type="text/xml;charset=UTF-8")

    return bp


@dataclass(frozen=True)
class Emulated:
    """Emulator mode's settings: the account a key that names none acts as; whether a launch from an AMI
    this cloud does not have runs on a stand-in image."""
    default_account: str
    stand_in_images: bool = True


def _handle(cloud, request_id: str, emulated: Emulated | None = None) -> bytes:
    emulator = emulated is not None
    stand_in_images = emulator and emulated.stand_in_images
    raw = request.get_data(cache=True)
    query = list(request.args.items(multi=True))
    params = dict(query)
    if request.method == "POST" and raw:
        if _presigned(query):
            raise Ec2Error("InvalidParameterCombination", PRESIGNED_BODY)
        params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    name = params.get("Action")
    if not name:
        raise Ec2Error("MissingAction", "The request must contain the parameter Action")
    caller, region = _emulated(cloud, query, emulated) if emulator else _authenticate(cloud, query, raw, name)
    if emulator:
        cloud.ensure_region(region)
    elif not cloud.has_region(region):
        raise Ec2Error("AuthFailure", f"Credential should be scoped to a valid region, not '{region}'. "
                                      "This cloud serves: " + ", ".join(r.name for r in cloud.infra.list_regions()[1]))
    if name == "GetCallerIdentity":
        return _caller_identity(cloud, caller, request_id, emulator=emulator, region=region)
    op = codec.operation(name)
    handler = ACTIONS.get(name)
    if handler is None:
        raise Ec2Error("UnsupportedOperation", f"The action {name} is not supported by this cloud yet.")
    args = codec.decode(op, params)
    if args.pop("DryRun", False):
        # Checked all the way through (ids, ownership, limits), then undone: the error it would have
        # met (UnauthorizedOperation for another tenant's image, say), else DryRunOperation.
        ctx = Context(cloud, caller, region, rehearsal=True, emulator=emulator, stand_in_images=stand_in_images)
        try:
            with cloud.rehearsal():
                handler(ctx, args)
        except CloudError as exc:
            raise from_cloud_error(exc) from exc
        raise Ec2Error("DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
    ctx = Context(cloud, caller, region, synchronous=emulator, emulator=emulator, stand_in_images=stand_in_images)
    try:
        result = handler(ctx, args)
    except CloudError as exc:
        raise from_cloud_error(exc) from exc
    body = codec.encode(op, result, request_id)
    ctx.settle()
    return body


def _presigned(query) -> bool:
    """Authenticated by its query string (a presigned URL) rather than an Authorization header."""
    # The same test auth.parse makes: an empty Authorization header counts as none.
    return not request.headers.get("Authorization") and any(name == "X-Amz-Signature" for name, _ in query)


def _authenticate(cloud, query, raw: bytes, action: str):
    signed = auth.parse(request.method, request.headers, query)
    auth.check_scope(signed, request.headers, action=action)
    auth.check_time(signed)
    found = cloud.accounts.authenticate_key(signed.access_key)
    if found is None:
        raise Ec2Error("AuthFailure", auth.AUTH_FAILED)
    caller, secret = found
    auth.verify(signed, secret, method=request.method, path=request.path, headers=request.headers, query=query,
                body=raw if request.method == "POST" else b"")
    return caller, signed.region


def _emulated(cloud, query, emulated: Emulated):
    """Emulator mode: whoever signs with whatever key is the account it names (moto's
    ``x-moto-account-id`` header, else a 12-digit key), else the default one; only the scope is read."""
    signed = auth.parse(request.method, request.headers, query)
    named = request.headers.get("x-moto-account-id")
    try:
        return cloud.accounts.caller_for_any_key(
            signed.access_key, default_account=emulated.default_account,
            account=named if named and is_account_number(named) else None), signed.region
    except PermissionDenied:
        raise Ec2Error("AuthFailure", auth.AUTH_FAILED) from None
    except CloudError as exc:
        raise from_cloud_error(exc) from exc


def _caller_identity(cloud, caller, request_id: str, *, emulator: bool = False, region: str = "") -> bytes:
    """sts:GetCallerIdentity on the same endpoint (awscli and Terraform check credentials with it); in
    emulator mode as moto's server answers a key it did not issue: its example key id and user ``moto``."""
    op = codec.operation("GetCallerIdentity", service="sts")
    account = cloud.accounts.get_caller_account(caller)
    if emulator:
        result = {"UserId": MOTO_USER_ID, "Account": account.owner_number,
                  "Arn": f"arn:{_partition(region)}:sts::{account.owner_number}:user/moto"}
    else:
        result = {"UserId": caller.user_uuid or str(caller.user_id), "Account": account.owner_number,
                  "Arn": f"arn:aws:iam::{account.owner_number}:user/{caller.username}"}
    return codec.encode_query(op, result, request_id)


def _partition(region: str) -> str:
    """The ARN partition of ``region`` (as moto names it)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
