#!/bin/sh
# Measure the timeline page: render the 10,000-event sample page (through
# the html test, which checks it in headless Chromium), then open it
# RUNS more times and print its size and the render time the page measured
# itself (parse, draw and layout, from navigation start), with the median.
#
#   crates/paxsim/tests/data/timeline-measure.sh [--screenshot docs/timeline.png]
#
# With --screenshot, also copy the realistic sample's screenshot there.
# Needs chromium (Debian: apt-get install -y chromium).
set -eu
root=$(cd "$(dirname "$0")/../../../.." && pwd)
cd "$root"
runs=${RUNS:-5}
cargo test -q -p paxsim --test html -- --nocapture \
    a_ten_thousand_event_page_stays_small_and_draws_merged \
    a_realistic_sample_draws_every_message_and_operation
page="$root/target/tmp/timeline/sample-10000.html"
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
echo "10,000-event page: $(wc -c < "$page") bytes; render median ${median} ms over $runs runs"
if [ "${1:-}" = "--screenshot" ]; then
    cp "$root/target/tmp/timeline/sample-screenshot.png" "$2"
    echo "screenshot: $2"
fi
