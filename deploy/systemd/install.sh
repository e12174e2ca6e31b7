#!/bin/sh
# Install fanin from its npm tarball in a layout like td-agent's (docs/systemd.md):
#   /opt/fanin/                        the package and its production dependencies; /opt/fanin/bin/fanin
#   /usr/local/lib/systemd/system/     the units (drop-ins of your own go to /etc/systemd/system/<unit>.d/)
#   /usr/local/lib/sysusers.d/fanin.conf  the fanin system user and group
#   /etc/fanin/                        configuration, 0750 root:fanin; example files copied only where none exist
#   /var/lib/fanin/                    state (spools, file sink output), created by the units themselves
#
# usage: install.sh [--root DIR] fanin-<version>.tgz
#   --root DIR   install under DIR instead of / (an image being built, or a test); nothing is started or reloaded.
# Run it again with a newer tarball to upgrade: configuration is never overwritten. It does not enable or start any
# unit: which receivers and how many workers run on a host is the operator's choice (docs/systemd.md).
set -eu

root=/
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$2; shift 2 ;;
    --root=*) root=${1#--root=}; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: install.sh [--root DIR] fanin-<version>.tgz" >&2; exit 2; }
tarball=$1
[ -f "$tarball" ] || { echo "install.sh: no such file: $tarball" >&2; exit 2; }
root=${root%/}

prefix="$root/opt/fanin"
# A global install into its own prefix: the package under lib/node_modules/fanin, its production dependencies
# beside it, and the bin/fanin link the units run. npm extracts a tarball (it links only folders).
npm install --global --prefix "$prefix" --omit=dev --no-audit --no-fund "$tarball"

# Take the units from the package just installed, so units and code always come from the same version.
share="$prefix/lib/node_modules/fanin/deploy/systemd"
[ -f "$share/fanin-receiver@.service" ] || { echo "install.sh: $tarball carries no deploy/systemd/" >&2; exit 1; }

unitdir="$root/usr/local/lib/systemd/system"
install -d -m 0755 "$unitdir" "$root/usr/local/lib/sysusers.d"
for unit in fanin-receiver@.service fanin-worker@.service fanin-uploader.service fanin.target; do
  install -m 0644 "$share/$unit" "$unitdir/$unit"
done
install -m 0644 "$share/fanin.sysusers.conf" "$root/usr/local/lib/sysusers.d/fanin.conf"

# The user before anything is chowned to it. With --root, systemd-sysusers writes DIR/etc/passwd and DIR/etc/group.
install -d -m 0755 "$root/etc"
if [ "$root" = "" ]; then systemd-sysusers "$root/usr/local/lib/sysusers.d/fanin.conf"
else systemd-sysusers --root="$root" "$root/usr/local/lib/sysusers.d/fanin.conf"; fi
# The group's number from the (possibly foreign) root's own group file, not from this host's.
gid=$(awk -F: '$1 == "fanin" { print $3 }' "$root/etc/group")
[ -n "$gid" ] || { echo "install.sh: no fanin group in $root/etc/group" >&2; exit 1; }

# Configuration: readable by the fanin group only (TLS keys, credentials). fanin.env is read by systemd, as root.
install -d -m 0750 -o 0 -g "$gid" "$root/etc/fanin"
for example in receiver-a.json worker.json uploader.json; do
  [ -e "$root/etc/fanin/$example" ] || install -m 0640 -o 0 -g "$gid" "$share/etc-fanin/$example" "$root/etc/fanin/$example"
done
[ -e "$root/etc/fanin/fanin.env" ] || install -m 0600 -o 0 -g 0 "$share/etc-fanin/fanin.env" "$root/etc/fanin/fanin.env"

if [ "$root" = "" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
echo "fanin installed: $prefix/bin/fanin, units in $unitdir, configuration in $root/etc/fanin"
