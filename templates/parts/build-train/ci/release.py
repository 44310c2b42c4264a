#!/usr/bin/env python3
"""Reads the summary `sentio pipeline run --json` writes (stdlib only).

  release.py summary out/pipeline.json      print what the run did; fail when it failed
  release.py release out/pipeline.json      also write, for CI artifacts and later jobs:
      out/version.txt          the registered version, group/number
      out/version.env          MODEL_VERSION=group/number (a GitLab dotenv report)
      out/evaluation.json      the version's evaluation report
      out/model-version.json   sentio registry describe --json
"""
import argparse
import json
import os
import shutil
import subprocess
import sys


def fail(message):
    print(f"release.py: {message}", file=sys.stderr)
    sys.exit(1)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read the pipeline summary {path}: {e}")


def summary(run):
    print(f"execution {run['id']}: {run['status']}")
    for step in run.get("steps", []):
        why = step.get("failure_reason") or step.get("decision") or ""
        print(f"  {step['name']:<14} {step['status']:<10} {why}")
    version = run.get("registered")
    if version:
        print(
            f"registered {version['group']}/{version['number']} = {version['version']} "
            f"({version['status']})"
        )
    if run.get("failure_reason"):
        fail(f"the pipeline failed: {run['failure_reason']}")
    return version


def release(run, out):
    version = summary(run)
    if not version:
        fail("the pipeline registered no version")
    name = f"{version['group']}/{version['number']}"
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "version.txt"), "w", encoding="utf-8") as f:
        f.write(name + "\n")
    with open(os.path.join(out, "version.env"), "w", encoding="utf-8") as f:
        f.write(f"MODEL_VERSION={name}\n")
    sentio = os.environ.get("SENTIO", "sentio")
    described = subprocess.run(
        [sentio, "registry", "describe", name, "--json"], capture_output=True, text=True
    )
    if described.returncode != 0:
        fail(f"sentio registry describe {name}: {described.stderr.strip()}")
    with open(os.path.join(out, "model-version.json"), "w", encoding="utf-8") as f:
        f.write(described.stdout)
    home = os.environ.get("SENTIO_HOME", ".sentio")
    evaluation = os.path.join(home, "artifacts", version["artifact_digest"], "evaluation.json")
    if not os.path.isfile(evaluation):
        fail(f"no evaluation report at {evaluation}")
    shutil.copyfile(evaluation, os.path.join(out, "evaluation.json"))
    print(f"wrote {out}/version.txt ({name}), version.env, evaluation.json, model-version.json")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["summary", "release"])
    parser.add_argument("summary_file")
    parser.add_argument("--out", default="out")
    args = parser.parse_args()
    run = load(args.summary_file)
    if args.command == "summary":
        summary(run)
    else:
        release(run, args.out)


if __name__ == "__main__":
    main()
