// Command helpdesk-gateway is Caddy with its standard modules and the
// helpdesk_apps module: what `xcaddy build --with
// github.com/helpdeskapps/gateway/caddymodule` produces.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/helpdeskapps/gateway/caddymodule"
)

func main() {
	caddycmd.Main()
}
