package caddymodule

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/ with the current output")

// adaptSeparator divides a .caddyfiletest file into its Caddyfile and the
// expected output: the adapted JSON, or, for files named error_*, the
// expected error message.
const adaptSeparator = "\n----------\n"

// TestCaddyfileAdapt adapts every testdata/caddyfile_adapt case and compares
// the result with the file's expected JSON or error.
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "caddyfile_adapt", "*.caddyfiletest"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no adapt cases found")
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".caddyfiletest")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := strings.Cut(string(data), adaptSeparator)
			if !ok {
				t.Fatalf("%s: no %q separator", file, strings.TrimSpace(adaptSeparator))
			}
			out, _, adaptErr := adapter.Adapt([]byte(input), map[string]any{"filename": "Caddyfile"})

			var got string
			if strings.HasPrefix(name, "error_") {
				if adaptErr == nil {
					t.Fatalf("adapt succeeded; want an error")
				}
				got = adaptErr.Error() + "\n"
			} else {
				if adaptErr != nil {
					t.Fatalf("adapt: %v", adaptErr)
				}
				var buf bytes.Buffer
				if err := json.Indent(&buf, out, "", "\t"); err != nil {
					t.Fatal(err)
				}
				got = buf.String() + "\n"
			}
			if *update {
				if err := os.WriteFile(file, []byte(input+adaptSeparator+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != want {
				t.Errorf("adapted output differs from %s\n--- got\n%s\n--- want\n%s", file, got, want)
			}
		})
	}
}
