#!/usr/bin/env bash
# Recipe: the `postgres` OCI test image = Debian bookworm (essential) + PostgreSQL 15 server and client,
# with an entrypoint like the official image's (oci-postgres-entrypoint.sh). PGDATA is a subdirectory
# of the volume mount point: a freshly made ext4 volume holds lost+found, which initdb refuses.
# Output: $1/layout (OCI image layout, tag `img`). This recipe's, oci-lib.sh's and the entrypoint's
# text are the cache key.
set -euo pipefail
out=${1:?usage: oci-postgres.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=oci-lib.sh
. "$here/oci-lib.sh"
# Debian's postgresql-common makes a "main" cluster on install: the entrypoint makes its own instead.
# The LLVM JIT (libLLVM + libz3, ~130 MB of 360) goes: without llvmjit.so the server runs without JIT,
# as with jit=off; the locale sources go too (initdb uses glibc's built-in C.UTF-8).
oci_build "$out" postgresql-15,postgresql-client-15 \
  "install -m 0755 '$here/oci-postgres-entrypoint.sh' \"\$1/usr/local/bin/docker-entrypoint.sh\"" \
  'rm -rf "$1"/var/lib/postgresql/15 "$1"/etc/postgresql/15; mkdir -p "$1"/var/lib/postgresql/data; chroot "$1" chown postgres:postgres /var/lib/postgresql/data' \
  'rm -rf "$1"/usr/lib/x86_64-linux-gnu/libLLVM-14.so* "$1"/usr/lib/x86_64-linux-gnu/libz3.so* "$1"/usr/lib/postgresql/15/lib/llvmjit* "$1"/usr/lib/postgresql/15/lib/bitcode "$1"/usr/share/i18n'
umoci config --image "$layout:img" --author hearth \
  --config.entrypoint /usr/local/bin/docker-entrypoint.sh \
  --config.cmd postgres \
  --config.env 'PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --config.env LANG=C.UTF-8 \
  --config.env PGDATA=/var/lib/postgresql/data/pgdata \
  --config.workingdir / \
  --config.exposedports 5432/tcp \
  --config.volume /var/lib/postgresql/data \
  --config.stopsignal SIGINT
umoci gc --layout "$layout"
