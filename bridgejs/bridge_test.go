package bridgejs

import (
	"bytes"
	"testing"
)

// TestEveryEmbeddedScriptMinifies loads each script as the gateway does and
// checks the result can be inlined in HTML and is versioned by content.
func TestEveryEmbeddedScriptMinifies(t *testing.T) {
	scripts, err := Load()
	if err != nil {
		t.Fatalf("minifying the embedded scripts: %v", err)
	}
	entries, err := sources.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(scripts) {
		t.Errorf("%d files embedded, %d scripts loaded", len(entries), len(scripts))
	}
	for _, e := range entries {
		s := scripts[e.Name()]
		if s == nil {
			t.Errorf("%s: embedded but not loaded", e.Name())
			continue
		}
		src, _ := sources.ReadFile(e.Name())
		if len(s.Body) == 0 || len(s.Body) >= len(src) {
			t.Errorf("%s: minified to %d bytes from %d", e.Name(), len(s.Body), len(src))
		}
		// The gateway inlines client.js in pages whose policy allows only
		// inline scripts: the text must not end the element early.
		for _, bad := range [][]byte{[]byte("</script"), []byte("<!--")} {
			if bytes.Contains(bytes.ToLower(s.Body), bad) {
				t.Errorf("%s: minified text contains %q", e.Name(), bad)
			}
		}
		if len(s.Version) != 16 {
			t.Errorf("%s: version %q is not 16 hex digits", e.Name(), s.Version)
		}
	}
	if scripts[Client].Version == scripts[Host].Version {
		t.Error("two different scripts share a version")
	}
}
