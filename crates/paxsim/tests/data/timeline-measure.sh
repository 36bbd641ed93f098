#!/bin/sh
# Measure the timeline page of a real run of about 10,000 events: seed 816
# of `paxsim fuzz --flaw stale-leader-read` (10,557 events, a linearizability
# failure). Writes its page with the release binary (`paxsim replay --html`),
# opens it RUNS times in headless Chromium, and prints its size and the
# render time the page measured itself (parse, draw and layout, from
# navigation start), with the median.
#
#   crates/paxsim/tests/data/timeline-measure.sh [--screenshot docs/timeline.png]
#
# PAGE=FILE measures that page instead. With --screenshot, also run the html
# test that renders a real failure (seed 768 of the same flaw, opened on its
# violation) and copy its screenshot there. Needs chromium (Debian:
# apt-get install -y chromium).
set -eu
root=$(cd "$(dirname "$0")/../../../.." && pwd)
cd "$root"
runs=${RUNS:-5}
dir="$root/target/tmp/timeline"
mkdir -p "$dir"
page=${PAGE:-}
if [ -z "$page" ]; then
    cargo build -q --release -p paxsim
    page="$dir/measure-10000.html"
    ./target/release/paxsim replay --seed 816 --flaw stale-leader-read --html "$page" |
        grep -E '^seed [0-9]+: ' || true
fi
times=""
for run in $(seq "$runs"); do
    profile=$(mktemp -d)
    ms=$(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
            --disable-background-networking --disable-component-update --disable-sync \
            --window-size=1600,900 --user-data-dir="$profile" --dump-dom "file://$page" 2>/dev/null |
        sed -n 's/.*data-render-ms="\([0-9]*\)".*/\1/p')
    rm -rf "$profile"
    echo "run $run: ${ms} ms"
    times="$times $ms"
done
median=$(echo $times | tr ' ' '\n' | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
echo "$(basename "$page"): $(wc -c < "$page") bytes; render median ${median} ms over $runs runs"
if [ "${1:-}" = "--screenshot" ]; then
    cargo test -q -p paxsim --test html -- a_real_failure_opens_on_its_violation_for_the_readme
    cp "$dir/real-failure.png" "$2"
    echo "screenshot: $2"
fi
