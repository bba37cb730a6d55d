#!/usr/bin/env bash
# Stages the container image's filesystem for the Containerfile (FROM scratch has no shell, so the
# files are gathered here): the fandb binary, the shared libraries and loader `ldd` names, CA
# certificates, passwd/group with the unprivileged user fandb (10001), /tmp, and /data for SQLite.
#
#   bash deploy/image/stage.sh BINARY OUT    # e.g. target/release/fandb target/image
#
# OUT/rootfs is copied to / (owned by root), OUT/data to /data (owned by fandb).
set -euo pipefail

binary="${1:?usage: stage.sh BINARY OUT}"
out="${2:?usage: stage.sh BINARY OUT}"
uid=10001
gid=10001
certificates=/etc/ssl/certs/ca-certificates.crt

[[ -x "$binary" ]] || { echo "stage.sh: $binary is not an executable" >&2; exit 1; }
[[ -r "$certificates" ]] || { echo "stage.sh: $certificates is missing (Debian: apt-get install ca-certificates)" >&2; exit 1; }

rm -rf "$out/rootfs" "$out/data"
mkdir -p "$out/rootfs/etc/ssl/certs" "$out/rootfs/tmp" "$out/data"
chmod 1777 "$out/rootfs/tmp"
chmod 0700 "$out/data"

# The binary, without its symbol table (nothing in the image reads it).
cp "$binary" "$out/rootfs/fandb"
if command -v strip >/dev/null 2>&1; then strip --strip-unneeded "$out/rootfs/fandb"; fi

# Every library the binary loads, and the loader, at the paths ldd reports (the loader finds
# them there: its built-in search path covers Debian's multiarch directories).
libraries=$(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
[[ -n "$libraries" ]] || { echo "stage.sh: ldd found no libraries; is $binary dynamically linked?" >&2; exit 1; }
for library in $libraries; do
  cp -L --parents "$library" "$out/rootfs/"
done

cp -L "$certificates" "$out/rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nfandb:x:%s:%s:fandb:/data:/sbin/nologin\n' "$uid" "$gid" >"$out/rootfs/etc/passwd"
printf 'root:x:0:\nfandb:x:%s:\n' "$gid" >"$out/rootfs/etc/group"
# Host names from /etc/hosts (which container engines write), then DNS.
printf 'hosts: files dns\n' >"$out/rootfs/etc/nsswitch.conf"

echo "staged $(find "$out/rootfs" -type f | wc -l) files ($(du -sh "$out/rootfs" | cut -f1)) in $out"
