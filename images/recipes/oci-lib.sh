# Shared part of the OCI test image recipes (oci-web.sh, oci-postgres.sh); sourced, not run.
# oci_build OUTDIR PACKAGES HOOK… builds Debian bookworm (mmdebstrap, essential variant: no apt in the image; no docs, man
# pages, translations or apt lists) with PACKAGES into one layer of the OCI layout OUTDIR/layout
# (tag `img`, umoci). Each HOOK is a mmdebstrap --customize-hook; the caller sets the config.
oci_build() {
  local out=$1 pkgs=$2
  shift 2
  local hooks=()
  for h in "$@"; do hooks+=(--customize-hook="$h"); done
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mmdebstrap --quiet --variant=essential --mode=auto --format=tar --skip=output/dev \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --include="$pkgs" \
    "${hooks[@]}" \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*.log "$1"/var/log/apt/*' \
    bookworm "$work/root.tar" >&2
  layout=$out/layout
  mkdir -p "$out"
  umoci init --layout "$layout"
  umoci new --image "$layout:img"
  umoci raw add-layer --image "$layout:img" "$work/root.tar"
}
