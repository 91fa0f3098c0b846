package cookies

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestPairs(t *testing.T) {
	t.Parallel()
	line := ` a=1;b = 2 ;; c ; d="x;"; =e;  f=`
	var got []Pair
	var raws []string
	for p := range Pairs(line) {
		got = append(got, p)
		raws = append(raws, p.Raw)
	}
	if strings.Join(raws, ";") != line {
		t.Errorf("the Raw parts %q do not give the line back", raws)
	}
	want := []Pair{
		{"a", "1", " a=1"}, {"b", " 2", "b = 2 "}, {"", "", ""}, {"c", "", " c "},
		{"d", `"x`, ` d="x`}, {`"`, "", `"`}, {"", "e", " =e"}, {"f", "", "  f="},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Pairs(%q)\n got %q\nwant %q", line, got, want)
	}
	if (Pair{Raw: "c"}).HasValue() || !(Pair{Raw: "f="}).HasValue() {
		t.Error("HasValue")
	}
}

// Pairs names cookies as net/http does.
func FuzzPairsNamesAsNetHTTP(f *testing.F) {
	for _, seed := range []string{"a=1; b=2", " a = 1 ", "a\t=1", "a=\"1\"", ";;a", "a=1;a=2"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.Count(line, ";") >= 2999 {
			t.Skip("net/http reads no cookie of a request with more than 3000")
		}
		r := &http.Request{Header: http.Header{"Cookie": {line}}}
		for _, c := range r.Cookies() {
			found := false
			for p := range Pairs(line) {
				found = found || p.Name == c.Name
			}
			if !found {
				t.Fatalf("net/http reads cookie %q in %q; Pairs names none so", c.Name, line)
			}
		}
	})
}
