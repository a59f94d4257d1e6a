#!/usr/bin/env bash
# Installs everything Hearth needs on a Debian 12 host, idempotently:
# Debian packages (as root), npm dependencies, the dashboard and the bundles the `hearth` bin runs
# (rebuilt only when their sources or the lockfile changed), and the built-in guest images (cached
# outside the checkout in $HEARTH_CACHE_DIR, default /var/cache/hearth, keyed by recipe hash).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  qemu-system-x86 qemu-utils            # the VMM (QEMU microvm) and disk tools
  linux-source-6.1 flex bison bc        # the default microVM kernel, built once and cached
  libelf-dev libssl-dev xz-utils
  linux-image-cloud-amd64 kmod cpio     # fallback guest kernel (Debian's) and its initramfs
  busybox-static e2fsprogs              # base rootfs, built without loop mounts
  iproute2 nftables                     # bridge, TAP, NAT
  iperf3                                # host end of the network benchmark (bench/net.ts)
  dnsmasq-base                          # DNS forwarder on each bridge (the guests' resolver)
  golang-go                             # builds the static guest agent (apps/guest)
  skopeo umoci                          # OCI imports: registry protocol, layer unpack (docs/images.md)
  docker-registry                       # a real OCI registry for the image tests (loopback only)
  mmdebstrap                            # the OCI test images (web, postgres) from Debian packages
  apache2-utils                         # htpasswd (bcrypt) for the private-registry tests
  docker.io                             # Debian's docker client (API 1.41) drives the Docker API tests; dockerd never runs
  libstdc++6                            # copied into the node22 runtime image next to node
  openssl                               # SHA-512 crypt of guest passwords
  postgresql                            # the test suite's throwaway PostgreSQL cluster
  chromium                              # the dashboard's browser tests (Playwright drives it)
  tcpdump                               # the network tests capture VXLAN on the underlay
  fdisk                                 # sfdisk: the partitioned-disk import tests build GPT/MBR disks
  systemd                               # systemd-analyze verifies the units `hearth install` writes
  prometheus                            # promtool: the /metrics tests check the exposition text with it
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: these Debian packages are missing: ${missing[*]}" >&2
    echo "setup: run this script as root (sudo bash scripts/setup.sh) so it can install them." >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # postgresql's post-install tries to start a cluster; without an init system that may fail harmlessly.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm dependencies: only when the lockfile changed since the last install.
stamp=node_modules/.hearth-lock-sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

bash scripts/build-web.sh
# The hearth CLI, manager and agent run from bundles (docs/decisions/0010-bundled-builds.md).
node scripts/build-bundles.mjs

echo "setup: built-in guest images (the first kernel build takes several minutes)"
node --import tsx packages/images/src/cli.ts

echo "setup: OCI test images from Debian packages (cached by recipe hash)"
node --import tsx packages/images/src/test-oci-cli.ts
