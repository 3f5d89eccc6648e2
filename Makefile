# The targets CI and the README use; nothing here that CI does not run.
.PHONY: demo test bench fmt lint

demo:
	cargo run --release --locked -p kec -- demo

test:
	./scripts/test.sh

bench:
	cargo run --release --locked -p kec -- bench store

fmt:
	cargo fmt --all
