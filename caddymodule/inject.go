package caddymodule

import (
	"bytes"
	"fmt"
	"html"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/encode"

	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
)

// shimAttrs returns the attributes of the shim's script element that do not
// change per response: the app id, the Helpdesk origins it may talk to (the
// keyword self standing for 'self'), and its options. With link rewriting,
// the shim also learns the app's path and the gateway's prefix, whose paths
// it never moves; with isolated cookies, the app's path and the prefix of
// its cookie jar, which it shows the page's scripts as the backend sees it.
// With the gateway's own sign-in, check is where the shim checks the user
// the Helpdesk reports.
func shimAttrs(a *App, ancestors []string, gatewayPrefix, check string) []byte {
	origins := make([]string, len(ancestors))
	for i, src := range ancestors {
		origins[i] = src
		if src == "'self'" {
			origins[i] = "self"
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, ` data-helpdesk-app="%s" data-helpdesk-origins="%s"`,
		html.EscapeString(a.ID), html.EscapeString(strings.Join(origins, " ")))
	if a.AutoResize {
		b.WriteString(` data-auto-resize="true"`)
	}
	if a.ManualReady {
		b.WriteString(` data-manual-ready="true"`)
	}
	if a.RewriteLinks {
		b.WriteString(` data-rewrite-links="true"`)
	}
	if a.RewriteLinks || a.IsolateCookies {
		fmt.Fprintf(&b, ` data-helpdesk-prefix="%s"`, html.EscapeString(a.prefix))
	}
	if a.RewriteLinks {
		fmt.Fprintf(&b, ` data-helpdesk-root="%s"`, html.EscapeString(gatewayPrefix))
	}
	if a.IsolateCookies {
		fmt.Fprintf(&b, ` data-isolate-cookies="%s"`, html.EscapeString(a.cookiePrefix))
	}
	if check != "" {
		fmt.Fprintf(&b, ` data-signin-check="%s"`, html.EscapeString(check))
	}
	return b.Bytes()
}

// shimTag returns the script element injected into one of a's pages, in the
// form the page's policy lets run: a same-origin script (the usual case,
// precomputed), with the page's nonce, or inline.
func (s *site) shimTag(a *App, acc rewrite.ScriptAccess) []byte {
	var b bytes.Buffer
	b.WriteString("<script")
	if !acc.Inline {
		b.WriteString(` src="`)
		if a.host != "" {
			b.WriteString(html.EscapeString(s.hostClientURL))
		} else {
			b.WriteString(html.EscapeString(s.clientURL))
		}
		b.WriteByte('"')
	}
	b.Write(a.shimAttrs)
	if acc.Nonce != "" {
		b.WriteString(` nonce="`)
		b.WriteString(html.EscapeString(acc.Nonce))
		b.WriteByte('"')
	}
	b.WriteByte('>')
	if acc.Inline {
		b.Write(s.client.Body)
	}
	b.WriteString("</script>")
	return b.Bytes()
}

// documentVary names the request headers isDocumentRequest reads: a
// response that may get the shim depends on them.
const documentVary = "Sec-Fetch-Dest, Accept, X-Requested-With"

// isDocumentRequest reports whether r loads a document or a frame: Fetch
// Metadata says so or, from clients that send none, it accepts HTML. A
// fetch() or XMLHttpRequest that happens to get HTML back is not one, and
// its body is left alone.
func isDocumentRequest(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Dest") {
	case "document", "iframe", "frame":
		return true
	case "":
		accept := r.Header.Get("Accept")
		return r.Header.Get("X-Requested-With") == "" &&
			(strings.Contains(accept, "text/html") || strings.Contains(accept, "application/xhtml+xml"))
	}
	return false
}

// Kinds of bodies the gateway rewrites.
const (
	kindHTML = "html"
	kindCSS  = "css"
)

// bodyKind says whether a response body is HTML (or XHTML) or CSS in an
// ASCII-compatible charset, which the gateway can rewrite; "" otherwise.
func bodyKind(hdr http.Header) string {
	ct := hdr.Get("Content-Type")
	if kind, ok := commonKinds[ct]; ok {
		return kind
	}
	return parseKind(ct)
}

// parseKind is bodyKind for the value of a Content-Type header.
func parseKind(ct string) string {
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	if cs := strings.ToLower(strings.TrimSpace(params["charset"])); strings.HasPrefix(cs, "utf-16") || strings.HasPrefix(cs, "utf-32") || utf16Labels[cs] {
		return ""
	}
	switch mediaType {
	case "text/html", "application/xhtml+xml":
		return kindHTML
	case "text/css":
		return kindCSS
	}
	return ""
}

// utf16Labels are the other labels by which the WHATWG Encoding standard
// names UTF-16: a page in that encoding is not ASCII-compatible.
var utf16Labels = map[string]bool{
	"csunicode": true, "iso-10646-ucs-2": true, "ucs-2": true, "unicode": true,
	"unicodefeff": true, "unicodefffe": true,
}

// commonKinds are the bodyKind of Content-Type values common enough to be
// worth knowing without parsing them (TestCommonKinds checks them).
var commonKinds = map[string]string{
	"text/html":                       kindHTML,
	"text/html; charset=utf-8":        kindHTML,
	"text/html; charset=UTF-8":        kindHTML,
	"text/html;charset=utf-8":         kindHTML,
	"text/html;charset=UTF-8":         kindHTML,
	"text/css":                        kindCSS,
	"text/css; charset=utf-8":         kindCSS,
	"text/css; charset=UTF-8":         kindCSS,
	"application/json":                "",
	"application/json; charset=utf-8": "",
	"application/javascript":          "",
	"text/javascript":                 "",
	"text/javascript; charset=utf-8":  "",
	"image/png":                       "",
	"image/jpeg":                      "",
	"image/svg+xml":                   "",
	"font/woff2":                      "",
}

// hasBody reports whether a response with this status, to req, has a body
// that may be rewritten: not to HEAD, and not 1xx, 204, 205, 206 or 304.
func hasBody(method string, status int) bool {
	return method != http.MethodHead && status >= 200 &&
		status != http.StatusNoContent && status != http.StatusResetContent &&
		status != http.StatusPartialContent && status != http.StatusNotModified
}

// decodable reports whether the gateway can read a body in this coding.
func decodable(coding string) bool {
	return coding == "" || coding == "gzip" || coding == "zstd"
}

// contentLength returns the response's body length, when it declares one
// with a single valid Content-Length.
func contentLength(hdr http.Header) (int64, bool) {
	v := hdr["Content-Length"]
	if len(v) != 1 {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v[0]), 10, 63)
	return int64(n), err == nil
}

// contentEncoding returns the response's content coding, lower-case, with
// identity as "". Several codings, which the gateway does not undo, read as
// "stacked".
func contentEncoding(hdr http.Header) string {
	values := hdr.Values("Content-Encoding")
	switch {
	case len(values) == 0:
		return ""
	case len(values) > 1 || strings.Contains(values[0], ","):
		return "stacked"
	}
	if enc := strings.ToLower(strings.TrimSpace(values[0])); enc != "identity" {
		return enc
	}
	return ""
}

// narrowAcceptEncoding keeps, of the codings the client accepts (as Caddy's
// encode module reads them: by q-value, none of q=0), only those the
// gateway can decode to inject the shim, in the client's order of
// preference, so an app's page never arrives in a coding (br, say) that
// would have to pass through without the shim. Caddy's encode directive
// compresses the result for the client again.
func narrowAcceptEncoding(r *http.Request) {
	var keep []string
	for _, name := range encode.AcceptedEncodings(r, nil) {
		if name == "gzip" || name == "zstd" {
			keep = append(keep, name)
		}
	}
	if len(keep) == 0 {
		r.Header.Set("Accept-Encoding", "identity")
		return
	}
	r.Header.Set("Accept-Encoding", strings.Join(keep, ", "))
}
