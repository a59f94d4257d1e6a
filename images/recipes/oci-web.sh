#!/usr/bin/env bash
# Recipe: the `web` OCI test image = Debian bookworm (essential) + nginx-light serving "hearth web ok",
# its access log on stdout and error log on stderr (as the official nginx image does), and
# postgresql-client so a compose test can ask the database by service name (`pg_isready -h db`).
# Output: $1/layout (OCI image layout, tag `img`). The recipe's and oci-lib.sh's text are the cache key.
set -euo pipefail
out=${1:?usage: oci-web.sh OUTDIR}
# shellcheck source=oci-lib.sh
. "$(dirname "$0")/oci-lib.sh"
oci_build "$out" nginx-light,postgresql-client \
  'echo "hearth web ok" > "$1/var/www/html/index.html"; rm -f "$1"/var/www/html/index.nginx-debian.html' \
  'ln -sf /dev/stdout "$1/var/log/nginx/access.log"; ln -sf /dev/stderr "$1/var/log/nginx/error.log"'
umoci config --image "$layout:img" --author hearth \
  --config.cmd nginx --config.cmd -g --config.cmd 'daemon off;' \
  --config.env 'PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --config.env LANG=C.UTF-8 \
  --config.workingdir / \
  --config.exposedports 80/tcp \
  --config.stopsignal SIGQUIT
umoci gc --layout "$layout"
