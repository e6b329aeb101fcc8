#!/usr/bin/env bash
# Runs inside an image's build stage after the build: copies one program's runtime into DEST (the runtime stage
# copies DEST whole): the production dependency closure of WORKSPACE as npm resolved it (hoisted and nested
# paths alike), and package.json + dist/ of each workspace package in it. The workspace links in node_modules are
# relative (../../packages/x), so DEST mirrors the repository's layout.
#   images/stage-app.sh /app @wirekube/relay
set -euo pipefail
dest=${1:?usage: stage-app.sh DEST WORKSPACE}
workspace=${2:?usage: stage-app.sh DEST WORKSPACE}
root=$(pwd)
mkdir -p "$dest"
cp package.json "$dest/"
npm ls --workspace "$workspace" --omit=dev --all --parseable >"$dest.paths"
while IFS= read -r path; do
  rel=${path#"$root"}
  rel=${rel#/}
  [ -n "$rel" ] || continue
  cp -a --parents "$rel" "$dest/"
  if [ -L "$rel" ]; then
    # A workspace package: what it ships, not its sources and tests: dist/ and its native programs (native/bin,
    # built on the host by images/build.sh: the agent's Go relay-link).
    target=$(realpath --relative-to="$root" "$rel")
    mkdir -p "$dest/$target"
    cp "$target/package.json" "$dest/$target/"
    [ ! -d "$target/dist" ] || cp -a "$target/dist" "$dest/$target/"
    [ ! -d "$target/native/bin" ] || { mkdir -p "$dest/$target/native" && cp -a "$target/native/bin" "$dest/$target/native/"; }
  fi
done <"$dest.paths"
rm -f "$dest.paths"
