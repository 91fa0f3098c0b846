// Package bridgejs embeds the helpdesk:apps bridge scripts, minifies them
// once, and serves them with content-hash versioning: client.js, the shim
// the gateway injects into every app page, and host.js, the SDK Helpdesk
// front ends use to mount apps.
package bridgejs

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/tdewolff/minify/v2"
	"github.com/tdewolff/minify/v2/js"
)

//go:embed client.js host.js
var sources embed.FS

// Names of the scripts.
const (
	Client = "client.js"
	Host   = "host.js"
)

// Script is one minified script, ready to serve.
type Script struct {
	// Name is the file name, such as "client.js".
	Name string
	// Body is the minified source.
	Body []byte
	// Version is a hash of Body; URLs carrying it as ?v= never change.
	Version string
}

// etag is the script's strong entity tag.
func (s *Script) etag() string { return `"` + s.Version + `"` }

// Load returns the minified scripts, keyed by name. They are minified on the
// first call only; later calls return the same scripts.
var Load = sync.OnceValues(func() (map[string]*Script, error) {
	m := minify.New()
	m.AddFunc("text/javascript", js.Minify)
	scripts := make(map[string]*Script, 2)
	for _, name := range []string{Client, Host} {
		src, err := sources.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var out bytes.Buffer
		if err := m.Minify("text/javascript", &out, bytes.NewReader(src)); err != nil {
			return nil, fmt.Errorf("minifying %s: %w", name, err)
		}
		sum := sha256.Sum256(out.Bytes())
		scripts[name] = &Script{Name: name, Body: out.Bytes(), Version: hex.EncodeToString(sum[:8])}
	}
	return scripts, nil
})

// ServeHTTP serves s. A request whose `v` query parameter is the script's
// version gets a response cacheable for a year and marked immutable; any
// other request must revalidate, which costs a 304 when the script has not
// changed (RFC 9111 §5.2.2, RFC 8246).
func (s *Script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/javascript; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("ETag", s.etag())
	if r.URL.Query().Get("v") == s.Version {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	// ServeContent answers If-None-Match with 304, and HEAD and ranges.
	http.ServeContent(w, r, s.Name, time.Time{}, bytes.NewReader(s.Body))
}
