#!/usr/bin/python3
"""Checks klab results files against the JSON Schema of their schema_version
(src/tools/results-v<N>.schema.json beside this script).

    python3 src/tools/check_results.py RESULTS.json...

Exit 0: every file conforms; 1: one does not (each problem on a line, with the path to the value);
2: a file is unreadable, not JSON, of a schema_version without a schema, or jsonschema is missing
(Debian: python3-jsonschema).
"""

import json
import pathlib
import sys

try:
    import jsonschema
except ImportError:
    print("check_results: the Python module jsonschema is missing (Debian: python3-jsonschema)", file=sys.stderr)
    sys.exit(2)

SCHEMA_DIR = pathlib.Path(__file__).resolve().parent


def problems(path):
    """The ways the file at `path` departs from its schema, as lines; raises ValueError when it cannot be judged."""
    try:
        document = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from error
    version = document.get("schema_version") if isinstance(document, dict) else None
    schema_path = SCHEMA_DIR / f"results-v{version}.schema.json"
    if not isinstance(version, int) or not schema_path.is_file():
        raise ValueError(f"{path}: no schema for schema_version {version!r} in {SCHEMA_DIR}")
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    return [f"{path}: {'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
            for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))]


def main(paths):
    if not paths:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    status = 0
    for path in paths:
        try:
            found = problems(path)
        except ValueError as error:
            print(f"check_results: {error}", file=sys.stderr)
            return 2
        for line in found:
            print(line, file=sys.stderr)
        status = status or (1 if found else 0)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
