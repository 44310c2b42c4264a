#!/usr/bin/env python3
"""What the deploy targets of the Makefile do to a sentio endpoint (stdlib only).

  endpoint.py --url URL wait [--timeout 300s]
  endpoint.py --url URL deploy --variant V --model REF [--previous FILE]
  endpoint.py --url URL smoke --samples FILE [--variant V] [--expect GROUP/N]
  endpoint.py latency LOADTEST.json --p99 250ms --max-error-rate 0.01
  endpoint.py --url URL canary --primary P --canary C --model REF --weight PERCENT
  endpoint.py --url URL verdict --id ID --capture DIR --control P --candidate C ...
  endpoint.py --url URL finish --primary P --canary C --model REF
  endpoint.py --url URL rollback --primary P [--canary C] [--previous FILE]
  endpoint.py artifact GROUP/N

Management calls send the bearer token in SENTIO_ADMIN_TOKEN; sentio commands run as
$SENTIO (default: sentio on PATH). Exit status 0 when done, 1 with the reason on stderr.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request


def fail(message):
    print(f"endpoint.py: {message}", file=sys.stderr)
    sys.exit(1)


def duration(text):
    """Seconds in '250ms', '20s', '5m', '1h' or a bare number of seconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 250ms, 20s, 5m)")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2) or "s"]


def sentio(*args):
    """Runs sentio and returns its standard output."""
    command = [os.environ.get("SENTIO", "sentio"), *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.stdout


def describe(version):
    return json.loads(sentio("registry", "describe", version, "--json"))


class Endpoint:
    def __init__(self, url):
        if not url:
            fail("no endpoint URL (ENDPOINT_URL in deploy/ENV.env, or make ... ENDPOINT_URL=)")
        self.url = url.rstrip("/")

    def request(self, method, path, body=None, headers=None, admin=False, timeout=60):
        """(status, headers, body bytes); raises OSError when nothing answers."""
        data = None
        all_headers = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["content-type"] = "application/json"
        if admin:
            token = os.environ.get("SENTIO_ADMIN_TOKEN")
            if not token:
                fail("SENTIO_ADMIN_TOKEN is not set (the endpoint's management token)")
            all_headers["authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data, all_headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def call(self, method, path, body=None, headers=None, admin=False):
        try:
            return self.request(method, path, body, headers, admin)
        except OSError as e:
            fail(f"{method} {self.url}{path}: {e}")

    def admin(self, method, path, body=None):
        status, _, raw = self.call(method, path, body, admin=True)
        if status not in (200, 201):
            fail(f"{method} {path} answered {status}: {raw.decode(errors='replace')}")
        return json.loads(raw) if raw else {}

    def variants(self):
        return {v["name"]: v for v in self.admin("GET", "/v1/admin/endpoint")["variants"]}

    def weights(self, weights):
        self.admin("PUT", "/v1/admin/weights", {"weights": weights})
        print(f"weights {weights}")

    def deploy(self, variant, model):
        v = self.admin("POST", f"/v1/admin/variants/{variant}/deploy", {"model": model})
        print(f"{variant} now serves {model} ({v.get('model_version')})")


def cmd_wait(ep, a):
    deadline = time.monotonic() + a.timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            status, _, _ = ep.request("GET", "/ping", timeout=5)
            if status == 200:
                print(f"{ep.url} is ready")
                return
            last = f"/ping answered {status}"
        except OSError as e:
            last = str(e)
        time.sleep(1)
    fail(f"{ep.url} was not ready within {a.timeout:g} s ({last})")


def cmd_deploy(ep, a):
    variants = ep.variants()
    if a.variant not in variants:
        fail(f"the endpoint has no variant {a.variant!r} (it has {', '.join(variants)})")
    if a.previous:
        with open(a.previous, "w", encoding="utf-8") as f:
            f.write(variants[a.variant]["reference"] + "\n")
    ep.deploy(a.variant, a.model)


def cmd_smoke(ep, a):
    status, _, body = ep.call("GET", "/ping")
    if status != 200:
        fail(f"/ping answered {status}: {body.decode(errors='replace')}")
    expect = describe(a.expect)["version"] if a.expect else None
    with open(a.samples, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    if not texts:
        fail(f"no samples in {a.samples}")
    headers = {"X-Amzn-SageMaker-Target-Variant": a.variant} if a.variant else {}
    bodies = [{"text": t} for t in texts] + [{"instances": texts}]
    for body in bodies:
        status, h, raw = ep.call("POST", "/invocations", body, headers)
        if status != 200:
            fail(f"POST /invocations answered {status}: {raw.decode(errors='replace')}")
        answer = json.loads(raw)
        predictions = answer.get("predictions", [answer])
        if len(predictions) != len(body.get("instances", [0])):
            fail(f"{len(predictions)} predictions for {len(body.get('instances', [0]))} texts")
        for p in predictions:
            if p.get("label") not in p.get("probabilities", {}):
                fail(f"a prediction without a known label: {p}")
        served = h.get("X-Amzn-Invoked-Production-Variant")
        if a.variant and served != a.variant:
            fail(f"variant {served!r} answered, not {a.variant!r}")
        if expect and answer.get("model_version") != expect:
            fail(f"model {answer.get('model_version')} answered, not {a.expect} ({expect})")
    print(f"smoke test passed: {len(bodies)} requests to {ep.url}" + (f" ({a.variant})" if a.variant else ""))


def cmd_latency(a):
    try:
        with open(a.report, encoding="utf-8") as f:
            run = json.load(f)["run"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        fail(f"cannot read the load test report {a.report}: {e}")
    requests = run["requests"]
    sent = max(requests["sent"], 1)
    error_rate = (requests["failed"] + requests["non_2xx"]) / sent
    p99_ms = run["latency_ms"]["p99_ms"]
    objective_ms = a.p99 * 1000
    print(
        f"load test: {requests['sent']} requests, p99 {p99_ms:.1f} ms (objective {objective_ms:g} ms), "
        f"error rate {error_rate:.4f} (at most {a.max_error_rate:g})"
    )
    if requests["ok"] == 0:
        fail("no request succeeded")
    if p99_ms > objective_ms:
        fail(f"p99 latency {p99_ms:.1f} ms is over the objective {objective_ms:g} ms")
    if error_rate > a.max_error_rate:
        fail(f"error rate {error_rate:.4f} is over {a.max_error_rate:g}")


def cmd_canary(ep, a):
    if not 0 < a.weight < 100:
        fail(f"the canary weight is a percentage between 0 and 100, not {a.weight:g}")
    variants = ep.variants()
    if a.primary not in variants:
        fail(f"the endpoint has no variant {a.primary!r} (it has {', '.join(variants)})")
    if a.canary in variants:
        ep.deploy(a.canary, a.model)
    else:
        ep.admin("POST", "/v1/admin/variants", {"name": a.canary, "model": a.model, "weight": 0})
        print(f"{a.canary} added, serving {a.model}")
    ep.weights({a.primary: 100 - a.weight, a.canary: a.weight})


def report(a):
    return json.loads(
        sentio(
            "experiment", "report", "--id", a.id, "--capture", a.capture,
            "--min-samples", str(a.min_samples), "--alpha", str(a.alpha),
            "--min-effect", str(a.min_effect),
        )
    )


def cmd_verdict(ep, a):
    deadline = time.monotonic() + a.wait
    while True:
        r = report(a)
        if a.out:
            with open(a.out, "w", encoding="utf-8") as f:
                json.dump(r, f, indent=2)
        canary = r["variants"].get(a.candidate, {})
        if canary.get("requests", 0) and canary["failed"] / canary["requests"] > a.max_error_rate:
            fail(f"{a.candidate} failed {canary['failed']} of {canary['requests']} requests")
        verdict = r["verdict"]
        if verdict == "winner":
            if r["variant"] == a.candidate:
                print(f"{a.candidate} wins (p = {r['p_value']:.4g})")
                return
            fail(f"{r['variant']} wins over {a.candidate} (p = {r['p_value']:.4g})")
        if verdict == "no_significant_difference":
            print(f"no significant difference (p = {r['p_value']:.4g}): {a.candidate} is no worse")
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(min(a.every, max(deadline - time.monotonic(), 0)))
    needed = f"{r.get('have_min', 0)} labelled requests of {r.get('needed_per_variant', '?')} per variant"
    if a.on_not_enough_data == "promote":
        print(f"not enough data for a verdict ({needed}); promoting as configured")
        return
    fail(f"not enough data for a verdict ({needed}); rolling back as configured")


def cmd_finish(ep, a):
    variants = ep.variants()
    ep.deploy(a.primary, a.model)
    if a.canary in variants:
        ep.weights({a.primary: 1, a.canary: 0})
        ep.admin("DELETE", f"/v1/admin/variants/{a.canary}")
        print(f"{a.canary} removed")


def cmd_rollback(ep, a):
    variants = ep.variants()
    if a.canary and a.canary in variants:
        ep.weights({a.primary: 1, a.canary: 0})
        ep.admin("DELETE", f"/v1/admin/variants/{a.canary}")
        print(f"rolled back: {a.canary} removed, {a.primary} serves all traffic")
        return
    previous = None
    if a.previous and os.path.isfile(a.previous):
        with open(a.previous, encoding="utf-8") as f:
            previous = f.read().strip()
    current = variants.get(a.primary, {}).get("reference")
    if previous and previous != current:
        ep.deploy(a.primary, previous)
        os.remove(a.previous)
        print(f"rolled back: {a.primary} serves {previous} again")
        return
    print("nothing to roll back")


def cmd_artifact(a):
    v = describe(a.version)
    print(os.path.join(os.environ.get("SENTIO_HOME", ".sentio"), "artifacts", v["artifact_digest"]))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="the endpoint, e.g. http://127.0.0.1:8080")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("wait")
    s.add_argument("--timeout", type=duration, default=300)
    s = sub.add_parser("deploy")
    s.add_argument("--variant", required=True)
    s.add_argument("--model", required=True)
    s.add_argument("--previous")
    s = sub.add_parser("smoke")
    s.add_argument("--samples", required=True)
    s.add_argument("--variant")
    s.add_argument("--expect")
    s = sub.add_parser("latency")
    s.add_argument("report")
    s.add_argument("--p99", type=duration, required=True)
    s.add_argument("--max-error-rate", type=float, required=True)
    s = sub.add_parser("canary")
    s.add_argument("--primary", required=True)
    s.add_argument("--canary", required=True)
    s.add_argument("--model", required=True)
    s.add_argument("--weight", type=float, required=True)
    s = sub.add_parser("verdict")
    s.add_argument("--id", required=True)
    s.add_argument("--capture", required=True)
    s.add_argument("--control", required=True)
    s.add_argument("--candidate", required=True)
    s.add_argument("--min-samples", type=int, default=100)
    s.add_argument("--alpha", type=float, default=0.05)
    s.add_argument("--min-effect", type=float, default=0.05)
    s.add_argument("--wait", type=duration, default=0)
    s.add_argument("--every", type=duration, default=60)
    s.add_argument("--on-not-enough-data", choices=["promote", "rollback"], default="rollback")
    s.add_argument("--max-error-rate", type=float, default=0.01)
    s.add_argument("--out")
    s = sub.add_parser("finish")
    s.add_argument("--primary", required=True)
    s.add_argument("--canary", required=True)
    s.add_argument("--model", required=True)
    s = sub.add_parser("rollback")
    s.add_argument("--primary", required=True)
    s.add_argument("--canary")
    s.add_argument("--previous")
    s = sub.add_parser("artifact")
    s.add_argument("version")
    a = p.parse_args()
    if a.command == "latency":
        return cmd_latency(a)
    if a.command == "artifact":
        return cmd_artifact(a)
    ep = Endpoint(a.url)
    {
        "wait": cmd_wait, "deploy": cmd_deploy, "smoke": cmd_smoke, "canary": cmd_canary,
        "verdict": cmd_verdict, "finish": cmd_finish, "rollback": cmd_rollback,
    }[a.command](ep, a)


if __name__ == "__main__":
    main()
