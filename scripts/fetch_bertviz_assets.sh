#!/usr/bin/env bash
# Fetch the JavaScript that bertviz loads from a CDN (require.js, d3, jQuery) into
# viz/vendor/bertviz/ (package data, git-ignored), so viz/bertviz_view.py can inline it and the
# views render offline. Idempotent: does nothing when the three files are present.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${BERTVIZ_ASSETS_DIR:-$ROOT/viz/vendor/bertviz}"

if [ -s "$DEST/require.js" ] && [ -s "$DEST/d3.min.js" ] && [ -s "$DEST/jquery.min.js" ]; then
  echo "bertviz assets already in $DEST"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is missing: bertviz views will load require.js, d3 and jQuery from a CDN"
  exit 0
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent requirejs@2.3.6 d3@5.7.0 jquery@2.1.0 >/dev/null)
for pkg in requirejs-2.3.6 d3-5.7.0 jquery-2.1.0; do
  mkdir -p "$TMP/$pkg"
  tar xzf "$TMP/$pkg.tgz" -C "$TMP/$pkg"
done
mkdir -p "$DEST"
cp "$TMP/requirejs-2.3.6/package/require.js" "$DEST/require.js"
cp "$TMP/d3-5.7.0/package/dist/d3.min.js" "$DEST/d3.min.js"
cp "$TMP/jquery-2.1.0/package/dist/jquery.min.js" "$DEST/jquery.min.js"
echo "bertviz assets written to $DEST"
