#!/usr/bin/env bash
# Runs every test of kec on a fresh Debian 12 machine with the Rust toolchain.
# This is the command README.md gives and .ci/run runs; keep the two in step.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== formatting"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
cargo test --workspace --locked
