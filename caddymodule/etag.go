package caddymodule

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// A body the gateway changes (the shim injected, links rewritten) is not
// the upstream's byte for byte, and it changes with the app's settings as
// well as with the upstream's body. Its ETag is the upstream's, made weak
// (RFC 9110 §8.8.1) and marked with a digest of those settings:
// W/"<upstream's opaque tag>-hd<digest>". A revalidation gets the
// upstream's tag back; one that names a mark of other settings (the
// Helpdesk's origins changed, say, or the shim with a new version of the
// gateway) is not passed on, so the body comes whole and is rewritten
// anew instead of a 304 keeping the browser's stale copy.

// etagMark starts the digest at the end of a changed body's opaque tag.
const etagMark = "-hd"

// digestLen is the length of the digest, in hex digits.
const digestLen = 8

// bodyDigest returns the digest of the settings that shape an app's
// changed bodies: the shim's tag in its usual form (the script's version,
// the Helpdesk's origins, the app's options), the gateway's prefix, the
// app's host and path and whether its links are rewritten.
func bodyDigest(app *App, gatewayPrefix string) string {
	h := sha256.New()
	h.Write(app.shim)
	for _, s := range []string{gatewayPrefix, app.host, app.path} {
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	if app.RewriteLinks {
		h.Write([]byte{0, 1})
	}
	return hex.EncodeToString(h.Sum(nil))[:digestLen]
}

// markETag gives a changed body's ETag the mark of digest.
func markETag(hdr http.Header, digest string) {
	etag := hdr.Get("ETag")
	opaque := strings.TrimPrefix(etag, "W/")
	if len(opaque) < 2 || opaque[0] != '"' || opaque[len(opaque)-1] != '"' {
		return
	}
	hdr.Set("ETag", `W/"`+opaque[1:len(opaque)-1]+etagMark+digest+`"`)
}

// upstreamETags turns a request's If-None-Match back into the upstream's
// tags: a tag with the mark of digest loses it, a tag with another mark is
// left out, and any other passes as it is. With no tag left, the header
// goes, and If-Modified-Since with it, which the upstream would otherwise
// answer with a 304 for the stale copy. It reports whether a tag had the
// mark of digest: the client holds a changed body that may still be good.
// A header it cannot read passes untouched.
func upstreamETags(hdr http.Header, digest string) bool {
	values := hdr["If-None-Match"]
	var kept []string
	marked, current := false, false
	for _, v := range values {
		for rest := v; ; {
			rest = strings.TrimLeft(rest, " \t,")
			if rest == "" {
				break
			}
			tag, opaque, next, ok := nextETag(rest)
			if !ok {
				return false
			}
			rest = next
			base, mark, ok := cutMark(opaque)
			switch {
			case !ok:
				kept = append(kept, tag)
			case mark == digest:
				marked, current = true, true
				kept = append(kept, `W/"`+base+`"`)
			default:
				marked = true
			}
		}
	}
	if !marked {
		return false
	}
	if len(kept) == 0 {
		delete(hdr, "If-None-Match")
		delete(hdr, "If-Modified-Since")
		return false
	}
	hdr["If-None-Match"] = []string{strings.Join(kept, ", ")}
	return current
}

// nextETag reads the entity tag at the start of s: the tag as written, its
// opaque part without quotes, and what follows it. "*" and anything not an
// entity tag are not ok.
func nextETag(s string) (tag, opaque, rest string, ok bool) {
	body := strings.TrimPrefix(s, "W/")
	if body == "" || body[0] != '"' {
		return "", "", "", false
	}
	end := strings.IndexByte(body[1:], '"')
	if end < 0 {
		return "", "", "", false
	}
	n := len(s) - len(body) + end + 2
	return s[:n], body[1 : end+1], s[n:], true
}

// cutMark splits an opaque tag into the upstream's and the digest of the
// mark at its end, if it has one.
func cutMark(opaque string) (base, digest string, ok bool) {
	i := len(opaque) - len(etagMark) - digestLen
	if i < 0 || opaque[i:i+len(etagMark)] != etagMark {
		return "", "", false
	}
	digest = opaque[i+len(etagMark):]
	for _, c := range []byte(digest) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", "", false
		}
	}
	return opaque[:i], digest, true
}
