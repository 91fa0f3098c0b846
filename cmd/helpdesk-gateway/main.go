// Command helpdesk-gateway is Caddy with its standard modules and the
// helpdesk_apps module: what `xcaddy build --with
// github.com/helpdeskapps/gateway/caddymodule` produces.
package main

import (
	"fmt"
	"os"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/helpdeskapps/gateway/caddymodule"
)

func main() {
	// Usage lines and help name this binary.
	caddy.CustomBinaryName = "helpdesk-gateway"
	caddy.CustomLongDescription = "helpdesk-gateway is Caddy with its standard modules and the helpdesk_apps\n" +
		"module, which serves internal tools as Helpdesk Apps. It runs and manages\n" +
		"Caddy configs as the caddy command does; helpdesk-token mints session\n" +
		"tokens for development and tests."
	// version names the plugin first; Caddy's own command would name
	// Caddy only.
	if len(os.Args) == 2 && os.Args[1] == "version" {
		_, full := caddy.Version()
		fmt.Printf("helpdesk-gateway %s\nCaddy %s\n", caddymodule.Version(), full)
		return
	}
	caddycmd.Main()
}
