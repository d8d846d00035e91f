#!/bin/sh
# Seeds a scratch SQLite database (a staff user and a few applications), runs
# `provider serve` on it, and captures docs/admin-*.png with headless chromium.
# Needs: a built provider (PROVIDER=path, default target/debug/provider),
# Debian's chromium, and `npm install` in this directory.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
provider=${PROVIDER:-$here/../../target/debug/provider}
port=${PORT:-8765}
dir=$(mktemp -d)
db="sqlite://$dir/provider.sqlite3"
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT

"$provider" --database-url "$db" createuser --username admin --password admin-screenshot --staff >/dev/null
"$provider" --database-url "$db" createuser --username alice --password alice-screenshot >/dev/null
"$provider" --database-url "$db" createapplication --name "Latchkey BFF" --client-id latchkey-bff \
  --redirect-uris "http://localhost:3000/login/" --skip-authorization --require-pkce --user admin \
  confidential authorization-code >/dev/null
"$provider" --database-url "$db" createapplication --name "CLI (password grant)" --client-id test \
  public password >/dev/null
"$provider" --database-url "$db" createapplication --name "Nightly report job" \
  --allowed-scopes read confidential client-credentials >/dev/null
"$provider" --database-url "$db" createapplication --name "iOS app" \
  --redirect-uris "com.example.latchkey:/oauth2/callback" --require-pkce --user alice \
  public authorization-code >/dev/null

"$provider" --database-url "$db" serve --listen "127.0.0.1:$port" &
pid=$!
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
# A couple of live tokens for the token lists.
for _ in 1 2; do
  curl -fsS -d grant_type=password -d client_id=test -d username=alice -d password=alice-screenshot \
    "http://127.0.0.1:$port/oauth2/token/" >/dev/null
done
cd "$here"
BASE="http://127.0.0.1:$port" USERNAME=admin PASSWORD=admin-screenshot OUT="$here/.." node capture.mjs
