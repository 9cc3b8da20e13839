#!/usr/bin/env bash
# Installs flowprobe on a Debian 12 host as the systemd unit expects it: the program in
# /opt/flowprobe, config in /etc/flowprobe, state in /var/lib/flowprobe, the unit in
# /etc/systemd/system. Run from a built checkout (npm ci && npm run build), as root.
#   scripts/install.sh [--root DIR] [--no-user] [--no-systemctl]
# --root installs into DIR instead of / (a package build, or the test that proves these steps).
set -euo pipefail
cd "$(dirname "$0")/.."

root=/
make_user=yes
use_systemctl=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --no-user) make_user=no; shift ;;
    --no-systemctl) use_systemctl=no; shift ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
root="${root%/}"

# Debian 12's nodejs package is 18.x: flowprobe needs Node.js 22 or later (24 LTS; the .deb
# from `npm run package:deb` carries its own).
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 22 ? 0 : 1)'; then
  echo "install.sh: Node.js $(node --version 2>/dev/null || echo 'not found') is too old: install Node.js 24 LTS (or 22), or use the .deb, which carries its own (check with: node --version)" >&2
  exit 1
fi
[ -f dist/src/main.js ] || { echo "install.sh: build first: npm ci && npm run build" >&2; exit 1; }

opt="$root/opt/flowprobe"
etc="$root/etc/flowprobe"
mkdir -p "$opt" "$etc/probes" "$root/etc/systemd/system" "$root/var/lib/flowprobe"
rm -rf "$opt/dist"
cp -r package.json package-lock.json dist config probes schema README.md "$opt/"
(cd "$opt" && npm ci --omit=dev --no-audit --no-fund --prefer-offline >/dev/null)

# Config and secrets are never overwritten: an upgrade keeps what the operator wrote.
[ -f "$etc/flowprobe.yaml" ] || cp config/host/flowprobe.yaml "$etc/flowprobe.yaml"
[ -n "$(ls -A "$etc/probes")" ] || cp config/container/probes/self.yaml "$etc/probes/"
[ -f "$etc/flowprobe.env" ] || install -m 0600 /dev/null "$etc/flowprobe.env"
install -m 0644 systemd/flowprobe.service "$root/etc/systemd/system/flowprobe.service"

if [ "$make_user" = yes ] && ! id flowprobe >/dev/null 2>&1; then
  useradd --system --home /var/lib/flowprobe --shell /usr/sbin/nologin flowprobe
fi

# The same check the service would make, with the same environment file.
check() {
  (set -a; . "$etc/flowprobe.env"; set +a; exec node "$opt/dist/src/main.js" check --config "$etc/flowprobe.yaml")
}
if [ "$make_user" = yes ] && [ "$root" = "" ]; then
  chown -R flowprobe:flowprobe "$root/var/lib/flowprobe"
  runuser -u flowprobe -- bash -c "set -a; . '$etc/flowprobe.env'; set +a; exec node '$opt/dist/src/main.js' check --config '$etc/flowprobe.yaml'"
else
  check
fi

if [ "$use_systemctl" = yes ] && [ "$root" = "" ]; then
  systemctl daemon-reload
  echo "installed: systemctl enable --now flowprobe"
else
  echo "installed into ${root:-/}"
fi
