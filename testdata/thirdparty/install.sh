#!/usr/bin/env bash
# Installs the third-party web applications of the browser tests
# (caddymodule/thirdparty_browser_test.go) and of the FastCGI test
# (caddymodule/fastcgi_test.go): Syncthing and php-fpm from Debian's
# packages, live-server from the npm registry at a pinned version; and the
# OpenID provider of the sign-in tests (internal/oidctest): npm's
# oidc-provider, pinned with its dependencies by testdata/oidc/package.json
# and package-lock.json. Idempotent: what is already there is left alone.
# See README.md in this folder.
#
#   HELPDESK_THIRDPARTY_DIR  where npm packages go
#                            (default: $HOME/.cache/helpdesk-thirdparty)
set -euo pipefail

LIVE_SERVER_VERSION=1.2.2
DEBIAN_PACKAGES=(syncthing php-fpm)

dir="${HELPDESK_THIRDPARTY_DIR:-$HOME/.cache/helpdesk-thirdparty}"
oidc_src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../oidc" && pwd)"

# ---- Debian packages ----------------------------------------------------------
as_root=()
if [ "$(id -u)" -ne 0 ]; then
	as_root=(sudo)
fi
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$pkg")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	# Refresh the lists only when one of the packages has no candidate.
	for pkg in "${missing[@]}"; do
		if ! apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
			"${as_root[@]}" apt-get update
			break
		fi
	done
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# ---- npm packages ---------------------------------------------------------------
command -v node >/dev/null || { echo "install.sh: node is required (node 20)" >&2; exit 1; }
command -v npm >/dev/null || { echo "install.sh: npm is required" >&2; exit 1; }
npm_dir="$dir/npm"
installed=""
if [ -f "$npm_dir/node_modules/live-server/package.json" ]; then
	installed=$(node -p 'require(process.argv[1]).version' "$npm_dir/node_modules/live-server/package.json")
fi
if [ "$installed" != "$LIVE_SERVER_VERSION" ] || [ ! -x "$npm_dir/node_modules/.bin/live-server" ]; then
	mkdir -p "$npm_dir"
	npm install --prefix "$npm_dir" --save-exact --no-audit --no-fund --loglevel=error "live-server@$LIVE_SERVER_VERSION"
fi

# oidc-provider: testdata/oidc's package.json and lock file, copied to
# $dir/oidc and installed there with `npm ci` whenever they changed.
oidc_dir="$dir/oidc"
if ! cmp -s "$oidc_src/package.json" "$oidc_dir/package.json" \
	|| ! cmp -s "$oidc_src/package-lock.json" "$oidc_dir/package-lock.json" \
	|| [ ! -f "$oidc_dir/node_modules/oidc-provider/package.json" ]; then
	mkdir -p "$oidc_dir"
	cp "$oidc_src/package.json" "$oidc_src/package-lock.json" "$oidc_dir/"
	npm ci --prefix "$oidc_dir" --no-audit --no-fund --loglevel=error
fi

# ---- Where things are -------------------------------------------------------------
syncthing_bin=$(command -v syncthing)
live_server_bin="$npm_dir/node_modules/.bin/live-server"
php_fpm_bin=$(command -v php-fpm || ls /usr/sbin/php-fpm* | sort -V | tail -n1)
echo "syncthing:   $syncthing_bin ($("$syncthing_bin" --version | head -n1))"
echo "live-server: $live_server_bin ($("$live_server_bin" --version))"
echo "php-fpm:     $php_fpm_bin ($("$php_fpm_bin" --version | head -n1))"
echo "oidc-provider: $oidc_dir/node_modules/oidc-provider ($(node -p 'require(process.argv[1]).version' "$oidc_dir/node_modules/oidc-provider/package.json"), run by testdata/oidc/provider.mjs on node $(node --version))"
echo "The tests find them there; to point them elsewhere:"
echo "  export HELPDESK_THIRDPARTY_DIR=$dir HELPDESK_SYNCTHING=$syncthing_bin HELPDESK_LIVE_SERVER=$live_server_bin HELPDESK_PHP_FPM=$php_fpm_bin HELPDESK_OIDC_DIR=$oidc_dir"
