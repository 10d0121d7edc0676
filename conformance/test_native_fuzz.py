"""Property-based fuzz of the native API over real HTTP: every declared command, generated parameters.

For each command in the registry, hypothesis builds signed requests (so they get past authentication)
with values of the declared types and of every other kind: wrong types, boundary and huge numbers,
long strings, unicode, control characters, markup, dates outside what a database stores, unknown
and duplicated parameter names, missing required ones, JSON, XML and the default format. Every
answer must be a CloudStack answer: a 2xx or one of CloudStack's client-error codes (never 500 or
530), a body that parses in the asked format, and no header of 8 KiB or more.

The module runs on its own server (conftest's module-scoped ``server``), so destructive commands
(deleting accounts, domains, zones) run too; the ids they can reach are those of a victim account
and domain created here, so the fuzzing callers keep their keys. The requests sent are counted and
the figure is printed in the test summary.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import time
import xml.dom.minidom
from collections import Counter

import pytest
import requests
from hypothesis import HealthCheck, given, settings, strategies as st

from conformance.conftest import ON_EACH_DATABASE, server_on_database
from conformance.test_valid_ids_fuzz import LISTS
from native_api import commands, fields as f, signing  # noqa: F401  (commands fill the registry)
from native_api.registry import LIST, REGISTRY

# CloudStack's answers to a client: success, no command, auth, bad parameters, unknown command, and the 53x
# codes for permission, capacity and resource state. 500 and 530 are server faults.
CLIENT_ANSWERS = {200, 400, 401, 405, 430, 431, 432, 531, 533, 534, 535, 536}
HEADER_LIMIT = 8 * 1024
# Examples per command and caller; derandomized, so every run sends the same requests. A deeper local run:
# NATIVE_FUZZ_SCALE=10 multiplies them (and draws other requests).
SCALE = int(os.environ.get("NATIVE_FUZZ_SCALE", "1"))
EXAMPLES = {"admin": 30 * SCALE, "demo": 10 * SCALE}
SENT: Counter = Counter()
STATUSES: Counter = Counter()

HOSTILE = [
    "", " ", "\n", "a\nb", "\r\nX-Injected: 1", "\x00", "\x07bell", "\x7f", "\t", "<&\">'", "]]>", "a b",
    "%00", "%", "..", "/", "x" * 70000, "é" * 300, "\U0001F600", "\ufffe", "\u202e", "\u0660\u0661",
    "0", "1", "-1", "+1", " 7 ", "1_000", "1e3", "0x10", "2147483647", "2147483648", "-2147483649",
    "9223372036854775807", "9223372036854775808", "-9223372036854775809", "99999999999999999999",
    "9" * 5000, "true", "false", "TRUE", "null", "NaN", "-0",
    "0001-01-01T00:00:00+1400", "9999-12-31T23:59:59-1400", "0000-00-00", "2026-02-30", "2026-01-01Z",
    "00000000-0000-0000-0000-000000000000", "ssh-foo AAAA", "ssh-rsa AAAA", "a,,b", ",", "*", "-",
]
NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._"
UNKNOWN_NAME = st.text(NAME_CHARS, min_size=1, max_size=12)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
VICTIM = {"Account", "User", "Domain"}


def _call(server, profile, params):
    key, secret = server.keys(profile)
    params = {**params, "response": "json", "apiKey": key}
    params["signature"] = signing.sign(params, secret)
    reply = requests.get(server.api_url, params=params, timeout=60)
    SENT["setup"] += 1
    assert reply.status_code == 200, (params["command"], reply.text[:500])
    return next(iter(reply.json().values()))


@pytest.fixture(scope="module", params=ON_EACH_DATABASE)
def server(request, tmp_path_factory):
    """The fuzzed server, on each database: MariaDB refuses values SQLite stores."""
    yield from server_on_database(request.param, str(tmp_path_factory.mktemp("native-fuzz")))


@pytest.fixture(scope="module")
def pool(server, request):
    """Real ids by entity; accounts, users and domains are a victim's, never the fuzzing callers'."""
    from conformance.test_valid_ids_fuzz import _deploy_params
    from conformance.test_cs_client import pick

    deploy = _deploy_params(server, pick)
    _call(server, "demo", {"command": "deployVirtualMachine", **deploy})
    _call(server, "demo", {"command": "createSSHKeyPair", "name": "fuzz-key"})
    domain = _call(server, "admin", {"command": "createDomain", "name": "fuzzvictims"})["domain"]
    account = _call(server, "admin", {"command": "createAccount", "username": "victim", "password": "pw",
                                      "email": "v@example.com", "firstname": "v", "lastname": "v",
                                      "accounttype": "0", "domainid": domain["id"]})["account"]
    ids = {"Domain": [domain["id"]], "Account": [account["id"]], "User": [u["id"] for u in account["user"]]}
    extra = {"SecurityGroup": ("listSecurityGroups", {"listall": "true"}, "securitygroup"),
             "SSHKeyPair": ("listSSHKeyPairs", {"listall": "true"}, "sshkeypair")}
    for entity, (command, params, item) in {**LISTS, **extra}.items():
        if entity in VICTIM:
            continue
        listed = _call(server, "admin", {"command": command, **params}).get(item, [])
        ids[entity] = [row["id"] for row in listed[:3]]
    rules = [r["ruleid"] for g in _call(server, "admin", {"command": "listSecurityGroups", "listall": "true"})
             .get("securitygroup", []) for r in g.get("ingressrule", []) + g.get("egressrule", [])]
    ids["SecurityGroupRule"] = rules[:3]
    # A zone, offering and template that deploy together come first: valid requests favour first ids.
    for entity, key in (("Zone", "zoneid"), ("ServiceOffering", "serviceofferingid"), ("Template", "templateid")):
        ids[entity] = [deploy[key]] + [i for i in ids[entity] if i != deploy[key]]
    if not request.config.pluginmanager.has_plugin("native-fuzz-summary"):  # once for both databases
        request.config.pluginmanager.register(_Summary(), "native-fuzz-summary")
    return ids


class _Summary:
    def pytest_terminal_summary(self, terminalreporter):
        fuzzed = sum(n for k, n in SENT.items() if k != "setup")
        by_profile = ", ".join(f"{k}: {n}" for k, n in sorted(SENT.items()))
        statuses = ", ".join(f"{k}: {n}" for k, n in sorted(STATUSES.items()))
        terminalreporter.write_line(f"native API fuzz: {fuzzed} generated requests over {len(REGISTRY)} "
                                    f"commands ({by_profile}); answers by status: {statuses}")


# --------------------------------------------------------------------- strategies


def _any_id(pool):
    real = [i for ids in pool.values() for i in ids]
    return st.sampled_from(real) if real else st.uuids().map(str)


# Values a client would plausibly send for some parameter names, so "valid" requests go deep.
PLAUSIBLE = {
    "protocol": ["tcp", "udp", "icmp", "all"], "cidrlist": ["0.0.0.0/0", "10.0.0.0/8"],
    "templatefilter": ["featured", "self", "executable", "all", "community"],
    "isofilter": ["featured", "self", "executable", "all"], "hypervisor": ["Simulator", "KVM"],
    "ipaddress": ["10.1.0.77", "10.1.0.1"], "url": ["nfs://nas/export", "http://example.com/a.qcow2"],
    "format": ["QCOW2", "RAW", "ISO"], "state": ["Running", "Stopped", "Destroyed"],
    "resourcetype": ["UserVm", "Volume", "Template", "0", "8"], "startport": ["22", "1"], "endport": ["22"],
    "allocationstate": ["Enabled", "Disabled"], "networktype": ["Basic", "Advanced"],
    "name": ["fuzz", "default", "us-east-1a", "admin"], "username": ["fuzz", "admin", "victim"],
}


def _hostile():
    return st.one_of(st.sampled_from(HOSTILE), TEXT)


def _valid(name, field, pool):
    """A value a client might well send for ``field``: right type, plausible, within bounds."""
    if isinstance(field, f.Boolean):
        return st.sampled_from(["true", "false"])
    if isinstance(field, f.Integer):
        return st.one_of(st.integers(-1, 64), st.sampled_from(["512", "1024", "2048"])).map(str)
    if isinstance(field, f.Date):
        return st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)).map(
            lambda d: d.strftime("%Y-%m-%d %H:%M:%S"))
    if isinstance(field, f.Uuid) or isinstance(field, f.List) and field.entity:
        own = pool.get(field.entity) or []
        one = st.one_of(st.just(own[0]), st.sampled_from(own)) if own else st.uuids().map(str)
        return one if isinstance(field, f.Uuid) else st.lists(one, min_size=1, max_size=2).map(",".join)
    plausible = PLAUSIBLE.get(name, [])
    return st.one_of(st.text(NAME_CHARS, min_size=1, max_size=12), *([st.sampled_from(plausible)] if plausible else []))


def _typed(name, field, pool):
    """A value of ``field``'s type anywhere in or just past its range."""
    if isinstance(field, f.Integer):
        return st.one_of(st.integers(), st.integers(-(1 << 70), 1 << 70)).map(str)
    if isinstance(field, f.Date):
        return st.builds(lambda d, fmt: d.strftime(fmt), st.datetimes(),
                         st.sampled_from(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S+0000", "%Y-%m-%dT%H:%M:%S-1400",
                                          "%Y-%m-%dT%H:%M:%S.%f+1400"]))
    if isinstance(field, f.Uuid) or isinstance(field, f.List) and field.entity:
        one = st.one_of(_any_id(pool), st.uuids().map(str))  # real ids of other kinds too
        return one if isinstance(field, f.Uuid) else st.lists(one, max_size=4).map(",".join)
    if isinstance(field, f.List):
        return st.lists(TEXT, max_size=4).map(",".join)
    if isinstance(field, f.String):
        # Boundary lengths, but not the megabyte of user data: signing it costs seconds per request.
        limit = min(field.length, 70000)
        return st.builds(lambda ch, n: ch * n, st.characters(blacklist_categories=("Cs",)),
                         st.sampled_from([limit, limit + 1]))
    return _valid(name, field, pool)


def _value(name, field, pool, mode):
    if mode == "valid":
        return _valid(name, field, pool)
    return st.one_of(_valid(name, field, pool), _typed(name, field, pool), _hostile())


def _map_pairs(name, pool, mode, min_size=0):
    """``name[i].field=value`` pairs, well-formed or not."""
    keys = st.sampled_from(["key", "value", "name", "cpuNumber", "cpuSpeed", "memory", "protocol", "cidr",
                            "startport", "endport", "account", "group"])
    if mode != "valid":
        keys = st.one_of(keys, UNKNOWN_NAME, st.sampled_from(["1st", "a b", "<x>", "é", "-", "a]b"]))
    values = st.one_of(st.text(NAME_CHARS, min_size=1, max_size=8), st.integers(-1, 4096).map(str))
    if mode != "valid":
        values = st.one_of(values, _hostile())
    entry = st.tuples(st.integers(0, 3), keys, values)
    return st.lists(entry, min_size=min_size, max_size=4).map(
        lambda entries: [(f"{name}[{i}].{k}", v) for i, k, v in entries])


@st.composite
def _requests(draw, cmd, pool):
    """One request: all valid, valid but one parameter, or anything (types, presence, names, duplicates)."""
    mode = draw(st.sampled_from(["valid", "one bad", "any"]))
    bad = None
    if mode == "one bad" and cmd.params:
        maps = sorted(n for n, p in cmd.params.items() if isinstance(p, f.Map))  # maps hold the most structure
        bad = draw(st.sampled_from(sorted(cmd.params) if not maps or draw(st.booleans()) else maps))
    pairs = [("command", cmd.name)]
    for name, field in cmd.params.items():
        this = "any" if mode == "any" or name == bad else "valid"
        if name == bad:
            present = True
        elif mode == "any":  # required ones mostly present, so requests reach the managers
            present = draw(st.integers(0, 5 if field.required else 1)) > 0
        else:  # a valid request: what is required, and now and then an option
            present = field.required or draw(st.integers(0, 3)) == 0
        if not present:
            continue
        wire = name if this == "valid" else draw(st.sampled_from([name, name.upper(), name.capitalize()]))
        if isinstance(field, f.Map):
            pairs += draw(st.one_of(_map_pairs(wire, pool, this, min_size=int(name == bad)),
                                    *([_hostile().map(lambda v, n=wire: [(n, v)])] if this == "any" else [])))
        elif this == "any" and draw(st.integers(0, 9)) == 0:  # a plain parameter sent as a map
            pairs += draw(_map_pairs(wire, pool, this))
        else:
            pairs.append((wire, draw(_value(name, field, pool, this))))
    if mode == "any":
        pairs += draw(st.lists(st.tuples(UNKNOWN_NAME, _hostile()), max_size=2))
        if draw(st.booleans()):  # the same name twice: the first value counts
            pairs.append((draw(st.sampled_from(pairs))[0], draw(_hostile())))
    fmt = draw(st.sampled_from(["json", "json", "xml", None, "JSON", "yaml"]))
    if fmt is not None:
        pairs.append(("response", fmt))
    return pairs, draw(st.sampled_from(["GET", "POST"]))


# --------------------------------------------------------------------- the property


def _send(server, profile, pairs, method):
    key, secret = server.keys(profile)
    pairs = pairs + [("apiKey", key)]
    signed: dict[str, str] = {}
    for name, value in pairs:
        signed.setdefault(name, value)  # the server keeps each name's first value
    pairs.append(("signature", signing.sign(signed, secret)))
    if method == "GET" and sum(len(v) for _, v in pairs) < 2000:
        reply = requests.get(server.api_url, params=pairs, timeout=60)
    else:
        reply = requests.post(server.api_url, data=pairs, timeout=60)
    SENT[profile] += 1
    STATUSES[reply.status_code] += 1
    return reply


def _problem(reply, fmt: str) -> str | None:
    """What is wrong with an answer, or None."""
    for name, value in reply.headers.items():
        if len(name) + len(value) + 4 >= HEADER_LIMIT:
            return f"header {name} of {len(value)} characters"
    if reply.status_code not in CLIENT_ANSWERS:
        return f"status {reply.status_code}: {reply.text[:300]}"
    try:
        if fmt == "json":
            assert reply.headers["Content-Type"].startswith("application/json")
            (body,) = json.loads(reply.text).values()
        else:
            assert reply.headers["Content-Type"].startswith("text/xml")
            root = xml.dom.minidom.parseString(reply.content).documentElement
            body = {n.tagName: n.firstChild.data if n.firstChild else "" for n in root.childNodes
                    if n.nodeType == n.ELEMENT_NODE and n.tagName in ("errorcode", "errortext")}
    except Exception as exc:  # noqa: BLE001 - any parse failure is the finding
        return f"unparseable {fmt} ({exc!r}): {reply.text[:300]!r}"
    if reply.status_code != 200 and (str(body.get("errorcode")) != str(reply.status_code)
                                     or not body.get("errortext")):
        return f"error without errorcode/errortext: {reply.text[:300]!r}"
    return None


# Destructive commands last, so the others run with the victim's objects still there.
DESTRUCTIVE = ("delete", "destroy", "remove", "expunge", "disable", "lock", "update", "configure")
COMMANDS = sorted(REGISTRY, key=lambda n: (n.startswith(DESTRUCTIVE), n))
JOBS: dict[str, list[tuple[str, str, str]]] = {}  # server url -> jobs the fuzz got accepted there


@pytest.mark.parametrize("profile", ["demo", "admin"])
@pytest.mark.parametrize("name", COMMANDS)
def test_generated_requests_get_clean_client_answers(server, pool, name, profile):
    cmd = REGISTRY[name]
    problems: list[tuple] = []

    @settings(max_examples=EXAMPLES[profile], derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(_requests(cmd, pool))
    def run(request):
        pairs, method = request
        reply = _send(server, profile, pairs, method)
        fmt = "json" if dict(reversed(pairs)).get("response") == "json" else "xml"
        problem = _problem(reply, fmt)
        if problem:
            shown = [(k, v if len(v) < 80 else v[:40] + f"...({len(v)})") for k, v in pairs]
            problems.append((method, shown, problem))
        elif reply.status_code == 200 and fmt == "json":
            jobid = next(iter(reply.json().values())).get("jobid")
            if jobid:
                JOBS.setdefault(server.url, []).append((name, profile, jobid))

    run()
    if problems:
        pytest.fail("\n".join(repr(p)[:1500] for p in problems[:5]), pytrace=False)


@settings(max_examples=60 * SCALE, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(name=st.one_of(_hostile(), st.sampled_from(sorted(REGISTRY)).map(str.upper)),
       signed=st.booleans(), fmt=st.sampled_from(["json", "xml"]))
def test_any_command_name_gets_a_well_formed_answer(server, pool, name, signed, fmt):
    """Unknown, mis-cased and hostile command names, signed or not: 401 or 432 in the asked format."""
    pairs = [("command", name), ("response", fmt)]
    if signed:
        reply = _send(server, "demo", pairs, "POST")
    else:
        reply = requests.post(server.api_url, data=pairs + [("apiKey", "x"), ("signature", "y")], timeout=60)
        SENT["demo"] += 1
        STATUSES[reply.status_code] += 1
    problem = _problem(reply, fmt)
    assert problem is None, (name[:100], problem)
    assert reply.status_code in (200, 400, 401, 405, 431, 432), (name[:100], reply.status_code)


def test_jobs_of_generated_requests_end_in_client_answers(server, pool):
    """Async commands the fuzz got accepted end in success or a CloudStack client error, never 530."""
    problems, deadline = [], time.time() + 120
    for name, profile, jobid in JOBS.get(server.url, []):
        while True:
            body = _call(server, profile, {"command": "queryAsyncJobResult", "jobid": jobid})
            if body.get("jobstatus") != 0 or time.time() > deadline:
                break
            time.sleep(0.2)
        if body.get("jobstatus") == 0:
            problems.append((name, jobid, "still pending"))
        elif body.get("jobstatus") == 2 and body["jobresult"].get("errorcode") not in CLIENT_ANSWERS:
            problems.append((name, jobid, body["jobresult"]))
    if problems:
        pytest.fail("\n".join(repr(p)[:1500] for p in problems[:10]), pytrace=False)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_what_the_fuzz_stored_still_lists_in_both_formats(server, pool, fmt):
    """Values the fuzz got stored (names, details, tags) must not break any listing afterwards."""
    problems = []
    listings = [n for n, c in REGISTRY.items() if c.shape == LIST and not any(p.required for p in c.params.values())]
    for name in sorted(listings):
        params = [("command", name), ("response", fmt)]
        params += [("listall", "true")] if "listall" in REGISTRY[name].params else []
        params += [(p, "all") for p in ("templatefilter", "isofilter") if p in REGISTRY[name].params]
        reply = _send(server, "admin", params, "GET")
        problem = _problem(reply, fmt) or (None if reply.status_code == 200 else f"status {reply.status_code}")
        if problem:
            problems.append((name, problem))
    if problems:
        pytest.fail("\n".join(repr(p)[:1500] for p in problems), pytrace=False)
