package ascii

import (
	"strings"
	"testing"
)

func TestFolding(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s, t string
		eq   bool
	}{
		{"Frame-Ancestors", "frame-ancestors", true},
		{"frame-ancestors", "FRAME-ANCESTORS", true},
		{"frame-anceſtors", "frame-ancestors", false}, // a non-ASCII look-alike
		{"\u212aey", "key", false},                    // the Kelvin sign
		{"abc", "abcd", false},
		{"", "", true},
	} {
		if got := EqualFold(tt.s, tt.t); got != tt.eq {
			t.Errorf("EqualFold(%q, %q) = %v", tt.s, tt.t, got)
		}
		if got := EqualFold([]byte(tt.s), tt.t); got != tt.eq {
			t.Errorf("EqualFold([]byte(%q), %q) = %v", tt.s, tt.t, got)
		}
	}
	if !HasPrefixFold("Report-URI /x", "report-uri") || HasPrefixFold("rep", "report") || !HasPrefixFold("x", []byte("")) {
		t.Error("HasPrefixFold")
	}
	if !ContainsFold("a; REPORT-URI /x", "report-uri") || ContainsFold("report-ur", "report-uri") {
		t.Error("ContainsFold")
	}
}

func TestBytes(t *testing.T) {
	t.Parallel()
	for c := 0; c < 256; c++ {
		b := byte(c)
		if got, want := IsSpace(b), strings.ContainsRune(" \t\n\f\r", rune(c)) && c < 128; got != want {
			t.Errorf("IsSpace(%q) = %v", b, got)
		}
		if got, want := IsHex(b), strings.ContainsRune("0123456789abcdefABCDEF", rune(c)) && c < 128; got != want {
			t.Errorf("IsHex(%q) = %v", b, got)
		}
		if got, want := IsAlpha(b), ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z'); got != want {
			t.Errorf("IsAlpha(%q) = %v", b, got)
		}
		if got, want := Lower(b), byte(strings.ToLower(string(rune(c)))[0]); c < 128 && got != want {
			t.Errorf("Lower(%q) = %q", b, got)
		}
	}
	if Unhex('f') != 15 || Unhex('A') != 10 || Unhex('7') != 7 {
		t.Error("Unhex")
	}
	if TrimSpace("\t a b \f\r\n") != "a b" || TrimLeftSpace(" x ") != "x " || TrimRightSpace(" x ") != " x" {
		t.Error("Trim*")
	}
}
