# paxsim recipes. Each is one plain command; `just` only saves typing.

# The main job: the default fuzz campaign on every core.
fuzz *ARGS:
    cargo run --release -p paxsim -- fuzz {{ARGS}}

# Replay one seed with its readable trace.
replay SEED *ARGS:
    cargo run --release -p paxsim -- replay --seed {{SEED}} --trace {{ARGS}}

# Run every scenario file and the seed corpus.
scenarios:
    cargo run --release -p paxsim -- run scenarios/ seeds/

# The test suite.
test:
    cargo test --workspace

# What CI runs.
ci:
    bash .ci/run

# The benchmark suite (one JSON object).
bench *ARGS:
    cargo run --release -p paxsim -- bench {{ARGS}}
