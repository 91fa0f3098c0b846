package htmlstream_test

import (
	"fmt"
	"io"
	"os"

	"github.com/helpdeskapps/gateway/caddymodule/htmlstream"
)

func ExampleHTMLRewriter() {
	links := &htmlstream.Links{
		Prefix:  "/apps/crm",
		Origins: []string{"http://10.0.0.5:8080"},
		Keep:    []string{"/apps/_bridge/"},
	}
	r := htmlstream.NewHTMLRewriter(os.Stdout, links)
	// The page may arrive in any pieces; the first bytes of a URL are
	// held back only until it is known whether they are rewritten.
	io.WriteString(r, "<link rel=stylesheet href=\"/st")
	io.WriteString(r, "atic/app.css\">\n<script>var api = \"/api\";</script>\n")
	io.WriteString(r, "<a href=\"http://10.0.0.5:8080/tickets?page=2\">Tickets</a>\n")
	io.WriteString(r, "<img src=\"/logo.png\" srcset=\"/logo@2x.png 2x\" style=\"background: url('/bg.png')\">\n")
	if err := r.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// <link rel=stylesheet href="/apps/crm/static/app.css">
	// <script>var api = "/api";</script>
	// <a href="/apps/crm/tickets?page=2">Tickets</a>
	// <img src="/apps/crm/logo.png" srcset="/apps/crm/logo@2x.png 2x" style="background: url('/apps/crm/bg.png')">
}

func ExampleCSSRewriter() {
	r := htmlstream.NewCSSRewriter(os.Stdout, &htmlstream.Links{Prefix: "/apps/crm"})
	io.WriteString(r, "@import \"/css/base.css\";\n/* url(/old.png) */\nbody { background: url(/img/bg.png) }\n")
	if err := r.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// @import "/apps/crm/css/base.css";
	// /* url(/old.png) */
	// body { background: url(/apps/crm/img/bg.png) }
}

func ExampleLinks_RewriteURL() {
	links := &htmlstream.Links{
		Prefix:  "/apps/crm",
		Origins: []string{"http://10.0.0.5:8080", "https://helpdesk.example.com"},
		Keep:    []string{"/apps/_bridge/"},
	}
	for _, u := range []string{
		"/tickets",
		"https://HELPDESK.example.com?tab=2",
		"//10.0.0.5:8080/img/a.png",
		"/apps/crm/tickets",
		"/apps/_bridge/client.js",
		"https://example.org/",
		"//evil.example/",
		"edit.html",
	} {
		fmt.Printf("%-36s %s\n", u, links.RewriteURL([]byte(u), nil))
	}
	// Output:
	// /tickets                             /apps/crm/tickets
	// https://HELPDESK.example.com?tab=2   /apps/crm/?tab=2
	// //10.0.0.5:8080/img/a.png            /apps/crm/img/a.png
	// /apps/crm/tickets                    /apps/crm/tickets
	// /apps/_bridge/client.js              /apps/_bridge/client.js
	// https://example.org/                 https://example.org/
	// //evil.example/                      //evil.example/
	// edit.html                            edit.html
}
