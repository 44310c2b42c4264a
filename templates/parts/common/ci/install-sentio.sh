#!/bin/sh
# Puts sentio on PATH for a CI job and prints the folder that holds it:
#   GitHub Actions: ci/install-sentio.sh >> "$GITHUB_PATH"
#   GitLab CI:      export PATH="$(ci/install-sentio.sh):$PATH"
# A sentio already on PATH (a runner image that has it) is used as it is. Otherwise the
# archive at SENTIO_DOWNLOAD_URL (a CI variable) is unpacked: a .tar.gz with bin/sentio and
# lib/ (the libtorch it links, found through the binary's rpath $ORIGIN/../lib).
# SENTIO_VERSION (set by the workflows) is the version this project was made for.
set -eu
want=${SENTIO_VERSION:-}
if command -v sentio >/dev/null 2>&1; then
  bin=$(command -v sentio)
else
  if [ -z "${SENTIO_DOWNLOAD_URL:-}" ]; then
    echo "install-sentio: no sentio on PATH and no SENTIO_DOWNLOAD_URL: set that CI variable to a sentio ${want} archive (bin/sentio, lib/), or run the jobs on an image that has sentio" >&2
    exit 1
  fi
  prefix=${SENTIO_PREFIX:-$HOME/.sentio-dist/${want:-latest}}
  mkdir -p "$prefix"
  curl -fsSL "$SENTIO_DOWNLOAD_URL" | tar -xz -C "$prefix"
  bin=$prefix/bin/sentio
fi
have=$("$bin" --version | awk '{print $2}')
if [ -n "$want" ] && [ "$have" != "$want" ]; then
  echo "install-sentio: using sentio $have; this project was made for $want (sentio init --check . lists the differences)" >&2
fi
echo "install-sentio: sentio $have at $bin" >&2
dirname "$bin"
