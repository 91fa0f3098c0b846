// Package ascii holds the one copy of the byte-level helpers the gateway's
// parsers share: the whitespace, letters and digits of HTML, CSS, CSP and
// URLs, and case folding of ASCII letters only. Browsers fold names this
// way; strings.EqualFold would also fold non-ASCII letters, 'ſ' to 's' and
// the Kelvin sign to 'k'.
package ascii

// IsSpace reports whether c is ASCII whitespace as HTML and CSP define it:
// tab, line feed, form feed, carriage return or space.
func IsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// IsDigit reports whether c is a decimal digit.
func IsDigit(c byte) bool { return '0' <= c && c <= '9' }

// IsAlpha reports whether c is an ASCII letter.
func IsAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// IsAlnum reports whether c is an ASCII letter or digit.
func IsAlnum(c byte) bool { return IsAlpha(c) || IsDigit(c) }

// IsHex reports whether c is a hexadecimal digit.
func IsHex(c byte) bool { return IsDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }

// Unhex returns the value of c, a hexadecimal digit.
func Unhex(c byte) byte {
	if IsDigit(c) {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// Lower returns c in lower case if it is an ASCII letter.
func Lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// EqualFold reports whether s equals t, ignoring the case of ASCII letters.
func EqualFold[S ~string | ~[]byte](s S, t string) bool {
	return len(s) == len(t) && HasPrefixFold(t, s)
}

// HasPrefixFold reports whether prefix, no longer than s, begins s, ignoring
// the case of ASCII letters.
func HasPrefixFold[S ~string | ~[]byte](s string, prefix S) bool {
	if len(prefix) > len(s) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if Lower(prefix[i]) != Lower(s[i]) {
			return false
		}
	}
	return true
}

// ContainsFold reports whether s contains t, ignoring the case of ASCII
// letters.
func ContainsFold(s, t string) bool {
	for i := 0; i+len(t) <= len(s); i++ {
		if HasPrefixFold(s[i:], t) {
			return true
		}
	}
	return false
}

// TrimLeftSpace returns s without leading ASCII whitespace.
func TrimLeftSpace(s string) string {
	for s != "" && IsSpace(s[0]) {
		s = s[1:]
	}
	return s
}

// TrimRightSpace returns s without trailing ASCII whitespace.
func TrimRightSpace(s string) string {
	for s != "" && IsSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// TrimSpace returns s without leading and trailing ASCII whitespace.
func TrimSpace(s string) string {
	return TrimRightSpace(TrimLeftSpace(s))
}
