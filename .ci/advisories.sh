#!/usr/bin/env bash
# Checks Cargo.lock against the RustSec advisory database: the live one where it can be
# fetched, else the offline copy in ../shared/advisory-db. Then proves the check can fail: a
# fake advisory for a crate of Cargo.lock, planted in a temporary copy of the database, must
# make it fail. Any advisory (vulnerability, unmaintained, unsound, yanked) fails the run.
#
#   bash .ci/advisories.sh [path/to/advisory-db]
set -euo pipefail
cd "$(dirname "$0")/.."

SOURCE=${1:-../shared/advisory-db}
# cargo-deny keeps the default database (github.com/rustsec/advisory-db) in a folder named
# after a hash of its URL, below the configured db-path.
DB_FOLDER=advisory-db-3157b0e258782691
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# A deny.toml like the project's, with db-path pointing at a database folder of our own.
config_for() {
    sed "s|^\[advisories\]|[advisories]\ndb-path = \"$1\"|" deny.toml >"$1/deny.toml"
}

# A git repository of the database copy, as cargo-deny opens it.
make_db() {
    local root=$1
    mkdir -p "$root"
    cp -r "$SOURCE" "$root/$DB_FOLDER"
    (
        cd "$root/$DB_FOLDER"
        rm -rf .git
        git init -q
        git add -A
        git -c user.name=ci -c user.email=ci@localhost commit -q -m "advisory-db snapshot"
    )
    config_for "$root"
}

cargo fetch --locked --quiet

if cargo deny check advisories 2>"$WORK/live.log"; then
    echo "advisories: the live database reports none"
elif grep -q "failed to fetch advisory database\|failed to open advisory database" "$WORK/live.log"; then
    echo "advisories: the live database cannot be fetched here; checking the offline copy"
    head -n 3 "$SOURCE/SNAPSHOT" | sed 's/^/  /'
else
    cat "$WORK/live.log"
    exit 1
fi

make_db "$WORK/real"
cargo deny --offline --config "$WORK/real/deny.toml" check advisories
echo "advisories: the offline copy reports none"

# The check must be able to fail: plant an advisory for a crate that Cargo.lock holds.
make_db "$WORK/planted"
victim=itoa
grep -q "^name = \"$victim\"$" Cargo.lock || { echo "advisories: $victim is not in Cargo.lock" >&2; exit 1; }
mkdir -p "$WORK/planted/$DB_FOLDER/crates/$victim"
cat >"$WORK/planted/$DB_FOLDER/crates/$victim/RUSTSEC-2099-0001.md" <<'EOF'
```toml
[advisory]
id = "RUSTSEC-2099-0001"
package = "itoa"
date = "2099-01-01"
url = "https://example.invalid/planted"
categories = ["memory-corruption"]

[versions]
patched = []
```

# A planted advisory

Planted by .ci/advisories.sh to prove that the advisory check fails when it should.
EOF
(cd "$WORK/planted/$DB_FOLDER" && git add -A && git -c user.name=ci -c user.email=ci@localhost commit -q -m planted)
if cargo deny --offline --config "$WORK/planted/deny.toml" check advisories 2>"$WORK/planted.log"; then
    cat "$WORK/planted.log"
    echo "advisories: a planted advisory for $victim went unnoticed" >&2
    exit 1
fi
grep -q "RUSTSEC-2099-0001" "$WORK/planted.log" || { cat "$WORK/planted.log"; exit 1; }
echo "advisories: a planted advisory for $victim fails the check, as it must"
