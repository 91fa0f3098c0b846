package session

import (
	"crypto/sha256"
	"sync"
	"time"
)

// evictionSample is how many entries a full cache looks at to find one to
// evict: the first expired one among them, or else the first.
const evictionSample = 8

// hashBuffers recycles the buffers tokenHash copies tokens into, so that
// hashing a token does not allocate.
var hashBuffers = sync.Pool{New: func() any { return new([]byte) }}

// tokenHash returns the SHA-256 of token, the key of its cache entry.
func tokenHash(token string) [sha256.Size]byte {
	buf := hashBuffers.Get().(*[]byte)
	*buf = append((*buf)[:0], token...)
	sum := sha256.Sum256(*buf)
	hashBuffers.Put(buf)
	return sum
}

// cacheEntry is what the cache remembers of a verified token.
type cacheEntry struct {
	// claims are the mapped claims, returned on a hit.
	claims Claims
	// times are checked again on every hit.
	times times
	// gen is the generation of the key set whose key verified the token;
	// 0 for a static key. An entry from another generation is not used.
	gen uint64
}

// tokenCache remembers verified tokens by the SHA-256 of their text, never
// the text itself, in at most size entries. It is safe for concurrent use.
type tokenCache struct {
	size    int
	mu      sync.RWMutex
	entries map[[sha256.Size]byte]cacheEntry
}

// newTokenCache returns an empty cache of size entries; size must be
// positive.
func newTokenCache(size int) *tokenCache {
	return &tokenCache{size: size, entries: make(map[[sha256.Size]byte]cacheEntry)}
}

// get returns the entry of the token with hash sum.
func (c *tokenCache) get(sum [sha256.Size]byte) (cacheEntry, bool) {
	c.mu.RLock()
	e, ok := c.entries[sum]
	c.mu.RUnlock()
	return e, ok
}

// put remembers e for the token with hash sum. When the cache is full, it
// first evicts an entry: an expired one at time now (with leeway) if a
// small sample of entries, taken in Go's randomised map order, holds one,
// and otherwise the first entry of that sample.
func (c *tokenCache) put(sum [sha256.Size]byte, e cacheEntry, now time.Time, leeway time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[sum]; !ok && len(c.entries) >= c.size {
		c.evictLocked(now, leeway)
	}
	c.entries[sum] = e
}

// evictLocked removes one entry; c.mu must be held.
func (c *tokenCache) evictLocked(now time.Time, leeway time.Duration) {
	var victim [sha256.Size]byte
	n := 0
	for sum, e := range c.entries {
		if !now.Before(e.times.exp.Add(leeway)) {
			victim = sum
			break
		}
		if n == 0 {
			victim = sum
		}
		if n++; n == evictionSample {
			break
		}
	}
	delete(c.entries, victim)
}
