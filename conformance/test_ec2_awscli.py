"""The unmodified awscli against a real server: run, wait, describe with --filters/--query, stop, terminate."""
from __future__ import annotations

import json
import os
import subprocess
import sys

AWS = os.path.join(os.path.dirname(sys.executable), "aws")


def aws(server, *args, profile="demo"):
    key, secret = server.keys(profile)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    result = subprocess.run([AWS, "--endpoint-url", server.url, "--output", "json", "ec2", *args], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def test_run_wait_describe_stop_terminate(server, user_cs):
    image = aws(server, "describe-images", "--owners", "amazon", "--filters", "Name=name,Values=debian-12",
                "--query", "Images[0].ImageId")
    run = aws(server, "run-instances", "--image-id", image, "--instance-type", "t2.micro")
    instance_id = run["Instances"][0]["InstanceId"]
    assert run["Instances"][0]["State"]["Name"] == "pending"
    aws(server, "wait", "instance-running", "--instance-ids", instance_id)
    state = aws(server, "describe-instances", "--filters", "Name=instance-type,Values=t2.micro",
                f"Name=instance-id,Values={instance_id}", "--query", "Reservations[].Instances[].State.Name")
    assert state == ["running"]
    # The instance is the native API's VM, for the same owner.
    listed = user_cs.listVirtualMachines()["virtualmachine"]
    assert any(vm["id"].replace("-", "")[:17] == instance_id[2:] and vm["state"] == "Running" for vm in listed)
    aws(server, "stop-instances", "--instance-ids", instance_id)
    aws(server, "wait", "instance-stopped", "--instance-ids", instance_id)
    aws(server, "terminate-instances", "--instance-ids", instance_id)
    aws(server, "wait", "instance-terminated", "--instance-ids", instance_id)


def test_key_pairs_security_groups_and_tags(server, tmp_path):
    created = aws(server, "create-key-pair", "--key-name", "cli-key", "--query", "KeyName")
    assert created == "cli-key"
    assert aws(server, "describe-key-pairs", "--key-names", "cli-key", "--query", "KeyPairs[0].KeyName") == "cli-key"
    group_id = aws(server, "create-security-group", "--group-name", "cli-sg", "--description", "from the cli",
                   "--query", "GroupId")
    aws(server, "authorize-security-group-ingress", "--group-id", group_id, "--protocol", "tcp", "--port", "22",
        "--cidr", "203.0.113.0/24")
    ports = aws(server, "describe-security-groups", "--group-ids", group_id,
                "--query", "SecurityGroups[0].IpPermissions[].FromPort")
    assert ports == [22]
    image = aws(server, "describe-images", "--owners", "amazon", "--query", "Images[0].ImageId")
    instance_id = aws(server, "run-instances", "--image-id", image, "--instance-type", "t2.nano", "--key-name",
                      "cli-key", "--security-group-ids", group_id, "--tag-specifications",
                      "ResourceType=instance,Tags=[{Key=Name,Value=cli-web}]", "--query", "Instances[0].InstanceId")
    aws(server, "create-tags", "--resources", instance_id, "--tags", "Key=team,Value=ops")
    names = aws(server, "describe-instances", "--filters", "Name=tag:Name,Values=cli-*",
                "--query", "Reservations[].Instances[].InstanceId")
    assert names == [instance_id]
    tags = aws(server, "describe-tags", "--filters", f"Name=resource-id,Values={instance_id}",
               "--query", "sort_by(Tags, &Key)[].Key")
    assert tags == ["Name", "team"]
    aws(server, "terminate-instances", "--instance-ids", instance_id)
    aws(server, "wait", "instance-terminated", "--instance-ids", instance_id)
    aws(server, "delete-key-pair", "--key-name", "cli-key")
