#!/usr/bin/env bash
# Runs every test of kec on a fresh Debian 12 machine with the Rust toolchain.
# This is the command README.md gives and .ci/run runs; keep the two in step.
set -euo pipefail
cd "$(dirname "$0")/.."

# Some dependencies build C code (SQLite, zstd, mimalloc, ring): a C compiler must be there.
if ! command -v cc >/dev/null 2>&1; then
    echo "== installing a C compiler (build-essential)"
    apt-get update -qq && apt-get install -y -qq build-essential
fi

# The web UI's browser tests drive headless Chromium through chromedriver.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "== installing chromium and chromedriver (browser tests)"
    apt-get update -qq && apt-get install -y -qq chromium chromium-driver
fi

echo "== formatting"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The slim node agent (`kec-npd`, what the DaemonSet runs) is behind a feature.
cargo clippy -p kec-npd-export --features agent --all-targets --locked -- -D warnings

echo "== tests"
cargo test --workspace --locked
