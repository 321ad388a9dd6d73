#!/bin/sh
# Builds vigil's production bundle into DEST: the compiled dist/, the page assets, the
# launcher, package.json and the production node_modules. The Dockerfile runs exactly this
# script in its build stage; outside Docker it produces the same tree from a checkout whose
# node_modules is installed (`npm ci`), so the bundle can be tested without a container engine.
#
#   deploy/image/build-bundle.sh DEST
#
# Then: node DEST/bin/vigil.js --help   (runs dist/: the bundle has no TypeScript sources)
set -eu
DEST=${1:?usage: build-bundle.sh DEST}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$DEST" in /*) ;; *) DEST=$(pwd)/$DEST ;; esac
[ -d "$ROOT/node_modules" ] || { echo "build-bundle: $ROOT/node_modules missing; run npm ci first" >&2; exit 1; }

rm -rf "$DEST"
mkdir -p "$DEST/bin"

# 1. Compile. With PREBUILT_DIST=<dir> (the Dockerfile, after `npm run build`) that output is
#    copied; otherwise tsc runs as `npm run build` does, into the bundle rather than the
#    checkout's dist/. tsc emits even where it reports a type error; type checking is CI's job.
cd "$ROOT"
if [ -n "${PREBUILT_DIST:-}" ]; then
  cp -R "$PREBUILT_DIST" "$DEST/dist"
else
  node node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir "$DEST/dist" || \
    echo "build-bundle: tsc reported errors (see above); checking its output" >&2
fi
[ -f "$DEST/dist/agent/cli/main.js" ] || { echo "build-bundle: no dist/agent/cli/main.js was built" >&2; exit 1; }

# 2. Runtime files that are not TypeScript (page assets, data files), never tests' fixtures or docs.
(cd "$ROOT" && find agent plugins -type f ! -name '*.ts' ! -name '*.md' ! -path '*/testdata/*' ! -path '*/test/*') |
  while IFS= read -r f; do
    mkdir -p "$DEST/dist/$(dirname "$f")"
    cp "$ROOT/$f" "$DEST/dist/$f"
  done

# 3. Launcher and metadata.
cp "$ROOT/bin/vigil.js" "$DEST/bin/vigil.js"
cp "$ROOT/package.json" "$ROOT/package-lock.json" "$DEST/"
[ -f "$ROOT/LICENSE" ] && cp "$ROOT/LICENSE" "$DEST/" || true

# 4. Production dependencies only.
node "$ROOT/deploy/image/copy-prod-modules.mjs" "$ROOT" "$DEST"

echo "bundle ready in $DEST ($(du -sh "$DEST" | cut -f1))"
