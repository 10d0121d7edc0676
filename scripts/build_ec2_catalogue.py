"""Builds ec2bridge/catalogue/data/ from the public EC2 facts moto ships as package data.

AWS publishes these facts (public AMI ids, ECS-optimized ones included, instance-type specifications, where each type is
offered, the regions and their zones, the SSM public parameters naming the latest AMIs); moto
(Apache-2.0) collects them into data files. Emulator mode serves the same facts so that a test
suite written against moto's server sees the same ids. This script copies the facts, reshaped
into our own compact files; product code never imports moto (a test-only dependency).

    python scripts/build_ec2_catalogue.py   # after upgrading moto, then commit the data
"""
from __future__ import annotations

import gzip
import json
import sys
from importlib.util import find_spec
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "ec2bridge" / "catalogue" / "data"
# The fields of an image record we keep (moto's snake_case names, as the catalogue stores them).
IMAGE_FIELDS = ("ami_id", "name", "description", "owner_id", "architecture", "platform", "root_device_type",
                "root_device_name", "virtualization_type", "hypervisor", "image_location", "image_type",
                "public", "sriov", "product_codes", "creation_date")
# Per region, moto serves the latest AMIs of each family and the ECS-optimized ones besides the common list.
REGIONAL_IMAGES = ("latest_amis", "ecs/optimized_amis")


def main() -> int:
    spec = find_spec("moto")
    if spec is None:
        print("moto is not installed (pip install moto)", file=sys.stderr)
        return 2
    moto = Path(spec.origin).parent
    ec2, ssm = moto / "ec2" / "resources", moto / "ssm" / "resources"
    OUT.mkdir(parents=True, exist_ok=True)

    def read(path: Path):
        with gzip.open(path, "rt") as f:
            return json.load(f)

    def write(name: str, data) -> None:
        with gzip.GzipFile(OUT / name, "wb", mtime=0) as f:  # mtime 0: a rebuild from the same facts is identical
            f.write(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())

    regions = sorted(p.name.removesuffix(".json.gz") for p in (ec2 / "latest_amis").iterdir())
    infrastructure = read(ssm / "regions.json.gz")["aws"]["service"]["global-infrastructure"]["regions"]
    write("regions.json.gz", {
        region: {"long_name": infrastructure.get(region, {}).get("longName", {}).get("Value", region),
                 "zones": sorted({o["Location"] for o in read(
                     ec2 / "instance_type_offerings" / "availability-zone" / f"{region}.json.gz")}),
                 "zone_ids": sorted(infrastructure.get(region, {}).get("availability-zones", {}))}
        for region in regions})

    def image(record: dict) -> dict:
        return {k: record.get(k) for k in IMAGE_FIELDS if record.get(k) not in (None, [], {})}

    write("images.json.gz", {
        "everywhere": [image(r) for r in read(ec2 / "amis.json.gz")],
        "latest": {region: [image(r) for folder in REGIONAL_IMAGES if (ec2 / folder / f"{region}.json.gz").exists()
                            for r in read(ec2 / folder / f"{region}.json.gz")]
                   for region in regions}})

    write("instance_types.json.gz", read(ec2 / "instance_types.json.gz"))
    offerings = {}
    for location_type in ("region", "availability-zone", "availability-zone-id"):
        per_region = {}
        for region in regions:
            path = ec2 / "instance_type_offerings" / location_type / f"{region}.json.gz"
            places: dict[str, list[str]] = {}
            for row in read(path) if path.exists() else []:
                places.setdefault(row["Location"], []).append(row["InstanceType"])
            per_region[region] = {place: sorted(types) for place, types in sorted(places.items())}
        offerings[location_type] = per_region
    write("instance_type_offerings.json.gz", offerings)

    write("ssm_parameters.json.gz", {
        region: sorted(({"Name": p["Name"], "Value": p["Value"], "Type": p["Type"], "DataType": p["DataType"],
                         "Version": p["Version"], "LastModifiedDate": p["LastModifiedDate"]}
                        for p in read(ssm / "ami-amazon-linux-latest" / f"{region}.json.gz")),
                       key=lambda p: p["Name"])
        for region in regions if (ssm / "ami-amazon-linux-latest" / f"{region}.json.gz").exists()})
    for path in sorted(OUT.iterdir()):
        print(f"{path.name}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
