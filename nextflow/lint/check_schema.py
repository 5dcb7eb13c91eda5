"""Offline checks of the workflow's nf-schema files (nf-schema itself needs Nextflow):

1. nextflow_schema.json and assets/schema_input.json are valid JSON Schema (draft 2020-12);
2. the schema's parameters are exactly the `params { }` block of nextflow.config, with the
   same defaults;
3. assets/samplesheet.test.csv passes the samplesheet schema (plus nf-schema's `exists` and
   `uniqueEntries`, checked here by hand), and broken samplesheets fail it.

Run from the repository root; exits 1 on any failure.
"""
import csv
import io
import json
import re
import sys
from pathlib import Path

from jsonschema import Draft202012Validator

root = Path("nextflow")
bad = 0


def fail(msg):
    global bad
    print(f"FAIL {msg}")
    bad += 1


params_schema = json.loads((root / "nextflow_schema.json").read_text())
input_schema = json.loads((root / "assets/schema_input.json").read_text())
for name, schema in [("nextflow_schema.json", params_schema), ("assets/schema_input.json", input_schema)]:
    try:
        Draft202012Validator.check_schema(schema)
        print(f"ok  {name}: valid draft 2020-12 schema")
    except Exception as e:  # noqa: BLE001 - report any schema error
        fail(f"{name}: {e}")

# The params block of nextflow.config: `name = value` lines at its top level.
config = (root / "nextflow.config").read_text()
block = re.search(r"^params \{\n(.*?)^\}", config, re.S | re.M).group(1)
config_params = {}
for line in block.splitlines():
    m = re.match(r"\s*(\w+)\s*=\s*(.+?)\s*(//.*)?$", line)
    if m:
        raw = m.group(2)
        value = None if raw == "null" else int(raw) if raw.isdigit() else raw.strip("'\"")
        config_params[m.group(1)] = value
schema_params = {}
for group in params_schema["$defs"].values():
    schema_params.update(group["properties"])
if set(config_params) != set(schema_params):
    fail(f"nextflow.config params and nextflow_schema.json differ: only in config {sorted(set(config_params) - set(schema_params))}, only in schema {sorted(set(schema_params) - set(config_params))}")
else:
    print(f"ok  {len(config_params)} parameters, the same in nextflow.config and nextflow_schema.json")
for k, v in config_params.items():
    if k in schema_params and schema_params[k].get("default") != v:
        fail(f"--{k}: default {v!r} in nextflow.config, {schema_params[k].get('default')!r} in the schema")


def check_samplesheet(text):
    """Errors of a samplesheet, as nf-schema would report them."""
    rows = list(csv.DictReader(io.StringIO(text)))
    errors = [f"row {i + 1}: {e.message}" for i, e in ((e.path[0] if e.path else -1, e) for e in Draft202012Validator(input_schema).iter_errors(rows))]
    for i, row in enumerate(rows):
        for field, spec in input_schema["items"]["properties"].items():
            if spec.get("exists") and row.get(field) and not Path(row[field]).exists():
                errors.append(f"row {i + 1}: {field} {row[field]} does not exist")
    for field in input_schema.get("uniqueEntries", []):
        seen = [r.get(field) for r in rows]
        if len(seen) != len(set(seen)):
            errors.append(f"{field} values repeat")
    return errors


good = (root / "assets/samplesheet.test.csv").read_text()
errors = check_samplesheet(good)
if errors:
    fail(f"assets/samplesheet.test.csv: {errors}")
else:
    print("ok  assets/samplesheet.test.csv passes the samplesheet schema")
for label, text in [
    ("a repeated sample", "sample,vcf\na,tests/data/demo.vcf\na,tests/data/demo.vcf\n"),
    ("a sample name with a space", "sample,vcf\nmy sample,tests/data/demo.vcf\n"),
    ("a file that is not a VCF", "sample,vcf\na,tests/data/chrI.genes.gtf\n"),
    ("a VCF that does not exist", "sample,vcf\na,tests/data/missing.vcf\n"),
    ("no vcf column", "sample\na\n"),
]:
    if check_samplesheet(text):
        print(f"ok  refused: {label}")
    else:
        fail(f"the samplesheet schema accepts {label}")
sys.exit(1 if bad else 0)
