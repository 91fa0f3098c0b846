package signin

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
)

// Keys seal what the gateway hands a browser and must get back unchanged
// and unread: the sign-in's state, the one-time codes, the sessions. They
// are AES-256-GCM keys kept in Caddy's storage, so that every instance
// sharing the storage opens what any of them sealed; the newest seals, and
// a new one is made every rotate, the old ones kept as long as what they
// sealed may live.
type Keys struct {
	storage certmagic.Storage
	// name is the keys' storage key.
	name string
	// rotate is the age at which a new key is made, keep how long a key
	// opens after it stopped sealing.
	rotate, keep time.Duration

	mu   sync.RWMutex
	ring []ringKey // newest first
	// checked is when the ring was last read from storage.
	checked time.Time
}

// ringKey is one key of the ring.
type ringKey struct {
	storedKey
	aead cipher.AEAD
}

// storedKey is a key as stored.
type storedKey struct {
	ID      uint32    `json:"id"`
	Created time.Time `json:"created"`
	Secret  []byte    `json:"secret"`
}

// LoadKeys reads the ring at name in storage, making it, or its next key,
// when there is none or the newest is older than rotate.
func LoadKeys(ctx context.Context, storage certmagic.Storage, name string, rotate, keep time.Duration) (*Keys, error) {
	k := &Keys{storage: storage, name: name, rotate: rotate, keep: keep}
	if err := k.refresh(ctx, true); err != nil {
		return nil, err
	}
	return k, nil
}

// errNoKey reports a sealed value whose key the ring does not hold.
var errNoKey = errors.New("sealed with an unknown key")

// refresh reads the ring from storage; with rotateIfDue, under the
// storage's lock, it adds a key when the newest is due and drops those
// past keeping.
func (k *Keys) refresh(ctx context.Context, rotateIfDue bool) error {
	stored, err := k.read(ctx)
	if err != nil {
		return err
	}
	if rotateIfDue && k.due(stored) {
		if err := k.storage.Lock(ctx, k.name); err != nil {
			return fmt.Errorf("locking the sign-in keys: %w", err)
		}
		defer func() { _ = k.storage.Unlock(context.WithoutCancel(ctx), k.name) }()
		if stored, err = k.read(ctx); err != nil {
			return err
		}
		if k.due(stored) {
			if stored, err = k.rotateRing(stored); err != nil {
				return err
			}
			raw, err := json.Marshal(stored)
			if err != nil {
				return err
			}
			if err := k.storage.Store(ctx, k.name, raw); err != nil {
				return fmt.Errorf("storing the sign-in keys: %w", err)
			}
		}
	}
	ring := make([]ringKey, 0, len(stored))
	for _, s := range stored {
		block, err := aes.NewCipher(s.Secret)
		if err != nil {
			return fmt.Errorf("sign-in key %d: %w", s.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return err
		}
		ring = append(ring, ringKey{s, aead})
	}
	k.mu.Lock()
	k.ring, k.checked = ring, time.Now()
	k.mu.Unlock()
	return nil
}

// read reads the stored ring, newest first; none is an empty ring.
func (k *Keys) read(ctx context.Context) ([]storedKey, error) {
	raw, err := k.storage.Load(ctx, k.name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the sign-in keys: %w", err)
	}
	var stored []storedKey
	if err := json.Unmarshal(raw, &stored); err != nil {
		return nil, fmt.Errorf("reading the sign-in keys: %w", err)
	}
	for _, s := range stored {
		if len(s.Secret) != 32 {
			return nil, fmt.Errorf("reading the sign-in keys: key %d is not a 256-bit key", s.ID)
		}
	}
	slices.SortFunc(stored, func(a, b storedKey) int { return b.Created.Compare(a.Created) })
	return stored, nil
}

// due reports whether the ring needs a new key.
func (k *Keys) due(stored []storedKey) bool {
	return len(stored) == 0 || time.Since(stored[0].Created) >= k.rotate
}

// rotateRing returns stored with a new key first, less the keys that
// stopped sealing more than keep ago.
func (k *Keys) rotateRing(stored []storedKey) ([]storedKey, error) {
	fresh := storedKey{Created: time.Now().UTC().Truncate(time.Second), Secret: make([]byte, 32)}
	var id [4]byte
	for {
		if _, err := rand.Read(id[:]); err != nil {
			return nil, err
		}
		fresh.ID = binary.BigEndian.Uint32(id[:])
		if !slices.ContainsFunc(stored, func(s storedKey) bool { return s.ID == fresh.ID }) {
			break
		}
	}
	if _, err := rand.Read(fresh.Secret); err != nil {
		return nil, err
	}
	out := []storedKey{fresh}
	for i, s := range stored {
		// A key stopped sealing when the one after it was made.
		retired := fresh.Created
		if i > 0 {
			retired = stored[i-1].Created
		}
		if time.Since(retired) <= k.keep {
			out = append(out, s)
		}
	}
	return out, nil
}

// sealed is what Seal seals: the value, for what, and until when.
type sealed struct {
	Purpose string          `json:"p"`
	Expiry  int64           `json:"e"`
	Value   json.RawMessage `json:"v"`
}

// Seal seals v, for purpose, until expiry: the result is URL-safe text
// that only Open with the same purpose opens, before expiry. A ring whose
// newest key is due gets a new one first.
func (k *Keys) Seal(ctx context.Context, purpose string, v any, expiry time.Time) (string, error) {
	k.mu.RLock()
	due := len(k.ring) == 0 || time.Since(k.ring[0].Created) >= k.rotate
	k.mu.RUnlock()
	if due {
		if err := k.refresh(ctx, true); err != nil {
			return "", err
		}
	}
	value, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(sealed{Purpose: purpose, Expiry: expiry.Unix(), Value: value})
	if err != nil {
		return "", err
	}
	k.mu.RLock()
	key := k.ring[0]
	k.mu.RUnlock()
	out := make([]byte, 4+key.aead.NonceSize(), 4+key.aead.NonceSize()+len(plain)+key.aead.Overhead())
	binary.BigEndian.PutUint32(out, key.ID)
	if _, err := rand.Read(out[4:]); err != nil {
		return "", err
	}
	out = key.aead.Seal(out, out[4:], plain, []byte(purpose))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// Open opens text that Seal sealed for purpose into v, and reports an
// error for anything else: another purpose, an expired value, a changed
// byte, a key no longer kept. A key the ring does not hold makes it read
// the ring again, at most once a minute, for another instance may have
// made it.
func (k *Keys) Open(ctx context.Context, purpose, text string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil || len(raw) < 4 {
		return errors.New("not a sealed value")
	}
	id := binary.BigEndian.Uint32(raw)
	key, ok := k.find(id)
	if !ok {
		k.mu.RLock()
		stale := time.Since(k.checked) > time.Minute
		k.mu.RUnlock()
		if stale {
			if err := k.refresh(ctx, false); err != nil {
				return err
			}
			key, ok = k.find(id)
		}
		if !ok {
			return errNoKey
		}
	}
	n := key.aead.NonceSize()
	if len(raw) < 4+n {
		return errors.New("not a sealed value")
	}
	plain, err := key.aead.Open(nil, raw[4:4+n], raw[4+n:], []byte(purpose))
	if err != nil {
		return errors.New("not sealed by this gateway, or changed")
	}
	var s sealed
	if err := json.Unmarshal(plain, &s); err != nil || s.Purpose != purpose {
		return errors.New("not sealed for this use")
	}
	if time.Now().Unix() >= s.Expiry {
		return ErrExpired
	}
	return json.Unmarshal(s.Value, v)
}

// ErrExpired reports a sealed value past its expiry.
var ErrExpired = errors.New("expired")

// find returns the key id of the ring.
func (k *Keys) find(id uint32) (ringKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	i := slices.IndexFunc(k.ring, func(r ringKey) bool { return r.ID == id })
	if i < 0 {
		return ringKey{}, false
	}
	return k.ring[i], true
}
