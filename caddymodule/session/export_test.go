package session

// SignatureChecks returns how many signatures v has checked, so that tests
// can tell a cached result from a fresh one.
func SignatureChecks(v *Verifier) uint64 { return v.checks.Load() }

// CacheLen returns the number of tokens in v's cache, 0 when it has none.
func CacheLen(v *Verifier) int {
	if v.cache == nil {
		return 0
	}
	v.cache.mu.RLock()
	defer v.cache.mu.RUnlock()
	return len(v.cache.entries)
}
