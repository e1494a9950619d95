package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Scope is what an API key may do.
type Scope string

const (
	// ScopeRecognize allows identify, verify and metrics: what a door
	// needs, and nothing that changes or lists the gallery.
	ScopeRecognize Scope = "recognize"
	// ScopeFull allows everything, enrolment and deletion included.
	ScopeFull Scope = "full"
)

// ParseScope checks a scope name.
func ParseScope(s string) (Scope, error) {
	switch Scope(s) {
	case ScopeRecognize, ScopeFull:
		return Scope(s), nil
	}
	return "", fmt.Errorf("unknown key scope %q (want %s or %s)", s, ScopeRecognize, ScopeFull)
}

// allows reports whether a key of scope s may do what need requires.
func (s Scope) allows(need Scope) bool {
	return s == ScopeFull || s == need
}

// KeyPrefix starts every key created by CreateKey, so that a leaked key
// is recognisable (e.g. by secret scanners).
const KeyPrefix = "frk_"

// KeyInfo describes a stored key. The key itself is never stored, only its
// SHA-256, so a stolen keys file does not give access.
type KeyInfo struct {
	// ID names the key for listing and revoking: the first 12 hex digits
	// of its hash.
	ID      string    `json:"id"`
	Scope   Scope     `json:"scope"`
	SHA256  string    `json:"sha256"`
	Created time.Time `json:"created"`
}

// keyFile is the JSON of a keys file.
type keyFile struct {
	Keys []KeyInfo `json:"keys"`
}

// Keys is the set of API keys the server accepts: the full-access master
// key (from FACEREC_API_KEY) and the keys in a keys file. The file is
// re-read when it changes, so keys created or revoked with the CLI take
// effect without a restart. It is safe for concurrent use.
type Keys struct {
	master    [sha256.Size]byte
	hasMaster bool
	weak      bool // the master key is short or repetitive: warned about at start
	path      string

	mu     sync.Mutex
	stamp  fileStamp
	byHash map[[sha256.Size]byte]Scope
	log    *slog.Logger // for reload errors; set by the server
}

// setLogger directs reload errors to log.
func (k *Keys) setLogger(log *slog.Logger) {
	k.mu.Lock()
	k.log = log
	k.mu.Unlock()
}

// fileStamp tells whether a file changed since it was read. The file is
// always replaced by a rename, so a new inode (os.SameFile) catches every
// change, even two within one mtime tick.
type fileStamp struct {
	fi fs.FileInfo // nil: no file
}

func (a fileStamp) same(b fileStamp) bool {
	if a.fi == nil || b.fi == nil {
		return a.fi == nil && b.fi == nil
	}
	return os.SameFile(a.fi, b.fi) && a.fi.ModTime().Equal(b.fi.ModTime()) && a.fi.Size() == b.fi.Size()
}

// minMasterKeyLen is the shortest master key the server accepts without a
// warning: 16 random characters of a key's alphabet are beyond guessing at
// the rate failed authentications are allowed. minMasterKeyDistinct is the
// fewest different characters it must hold: length alone would pass
// "aaaaaaaaaaaaaaaa" or "passwordpassword".
const (
	minMasterKeyLen      = 16
	minMasterKeyDistinct = 8
)

// weakKey reports whether key is short or repetitive enough to guess. It
// is a heuristic against the obvious mistakes, not an entropy estimate: a
// key made by `facerec keys create` (32 random bytes) always passes.
func weakKey(key string) bool {
	distinct := map[rune]bool{}
	for _, r := range key {
		distinct[r] = true
	}
	return len(key) < minMasterKeyLen || len(distinct) < minMasterKeyDistinct
}

// weakMaster reports whether the master key is too easy to guess.
func (k *Keys) weakMaster() bool { return k != nil && k.hasMaster && k.weak }

// NewKeys returns the keys accepted by a server: master (full access; ""
// for none) and those in the keys file at path ("" for none; a missing file
// holds no keys).
func NewKeys(master, path string) (*Keys, error) {
	k := &Keys{path: path, byHash: map[[sha256.Size]byte]Scope{}}
	if master != "" {
		k.master, k.hasMaster, k.weak = sha256.Sum256([]byte(master)), true, weakKey(master)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// Configured reports whether any key exists, now.
func (k *Keys) Configured() bool {
	if k == nil {
		return false
	}
	if k.hasMaster {
		return true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refresh()
	return len(k.byHash) > 0
}

// Scope returns the scope of key, and false when the key is unknown.
func (k *Keys) Scope(key string) (Scope, bool) {
	_, s, ok := k.lookup(key)
	return s, ok
}

// masterKeyID names the master key in rate limits and logs (a file key is
// named by its KeyInfo.ID).
const masterKeyID = "master"

// lookup returns the ID and scope of key, and false when the key is
// unknown. The key's SHA-256 is compared with every accepted hash in
// constant time (crypto/subtle), and the loop does not stop at a match, so
// the time taken says neither how much of a guess was right nor which key
// matched; the scan is linear in the number of keys, which is small (a
// keys file holds one key per door or operator).
func (k *Keys) lookup(key string) (id string, scope Scope, ok bool) {
	if k == nil || key == "" {
		return "", "", false
	}
	h := sha256.Sum256([]byte(key))
	if k.hasMaster && subtle.ConstantTimeCompare(h[:], k.master[:]) == 1 {
		id, scope, ok = masterKeyID, ScopeFull, true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refresh()
	for kh, s := range k.byHash {
		if subtle.ConstantTimeCompare(h[:], kh[:]) == 1 && !ok {
			id, scope, ok = hex.EncodeToString(kh[:6]), s, true
		}
	}
	return id, scope, ok
}

// refresh re-reads the keys file if it changed; k.mu is held. A file that
// became unreadable or invalid keeps the keys last read (and is logged):
// dropping every key would lock every door out over a half-edited file.
func (k *Keys) refresh() {
	if k.path == "" {
		return
	}
	if st, err := stampOf(k.path); err == nil && st.same(k.stamp) {
		return
	}
	if err := k.reload(); err != nil && k.log != nil {
		k.log.Error("keeping the keys last read", "err", err)
	}
}

// reload reads the keys file; k.mu is held.
func (k *Keys) reload() error {
	if k.path == "" {
		return nil
	}
	st, err := stampOf(k.path)
	if err != nil {
		return err
	}
	kf, err := readKeyFile(k.path)
	if err != nil {
		return err
	}
	byHash := make(map[[sha256.Size]byte]Scope, len(kf.Keys))
	for _, ki := range kf.Keys {
		b, err := hex.DecodeString(ki.SHA256)
		if err != nil || len(b) != sha256.Size {
			return fmt.Errorf("keys file %s: key %s: bad sha256 %q", k.path, ki.ID, ki.SHA256)
		}
		h := [sha256.Size]byte(b)
		if _, err := ParseScope(string(ki.Scope)); err != nil {
			return fmt.Errorf("keys file %s: key %s: %w", k.path, ki.ID, err)
		}
		byHash[h] = ki.Scope
	}
	k.byHash, k.stamp = byHash, st
	return nil
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileStamp{}, nil
	}
	if err != nil {
		return fileStamp{}, fmt.Errorf("keys file: %w", err)
	}
	return fileStamp{fi: fi}, nil
}

// readKeyFile reads a keys file; a missing file holds no keys.
func readKeyFile(path string) (keyFile, error) {
	var kf keyFile
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return kf, nil
	}
	if err != nil {
		return kf, fmt.Errorf("reading keys file: %w", err)
	}
	if err := json.Unmarshal(data, &kf); err != nil {
		return kf, fmt.Errorf("keys file %s: %w", path, err)
	}
	return kf, nil
}

// writeKeyFile replaces the keys file atomically (temporary file, fsync,
// rename), readable by its owner only.
func writeKeyFile(path string, kf keyFile) error {
	data, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the keys folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".keys-*.json")
	if err != nil {
		return fmt.Errorf("writing keys file: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing keys file: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("writing keys file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing keys file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing keys file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing keys file: %w", err)
	}
	return nil
}

// CreateKey makes a new random key of the given scope and adds its hash to
// the keys file at path (created 0600 if missing). The returned key is
// the only copy: it cannot be recovered from the file.
//
// Two processes creating keys in the same file at the same instant can
// lose one of the two keys (the file is replaced, not locked); the loser
// gets a key that does not work, and creates another.
func CreateKey(path string, scope Scope) (key string, info KeyInfo, err error) {
	if _, err := ParseScope(string(scope)); err != nil {
		return "", KeyInfo{}, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", KeyInfo{}, fmt.Errorf("creating a key: %w", err)
	}
	key = KeyPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	h := sha256.Sum256([]byte(key))
	sum := hex.EncodeToString(h[:])
	info = KeyInfo{ID: sum[:12], Scope: scope, SHA256: sum, Created: time.Now().UTC().Truncate(time.Second)}
	kf, err := readKeyFile(path)
	if err != nil {
		return "", KeyInfo{}, err
	}
	kf.Keys = append(kf.Keys, info)
	if err := writeKeyFile(path, kf); err != nil {
		return "", KeyInfo{}, err
	}
	return key, info, nil
}

// ListKeys returns the keys in the keys file at path.
func ListKeys(path string) ([]KeyInfo, error) {
	kf, err := readKeyFile(path)
	return kf.Keys, err
}

// RevokeKey removes the key with the given ID (or a unique prefix of it)
// from the keys file at path.
func RevokeKey(path, id string) (KeyInfo, error) {
	if id == "" {
		return KeyInfo{}, errors.New("revoking a key: empty key id")
	}
	kf, err := readKeyFile(path)
	if err != nil {
		return KeyInfo{}, err
	}
	found := -1
	for i, ki := range kf.Keys {
		if strings.HasPrefix(ki.ID, id) {
			if found >= 0 {
				return KeyInfo{}, fmt.Errorf("key id %q is ambiguous", id)
			}
			found = i
		}
	}
	if found < 0 {
		return KeyInfo{}, fmt.Errorf("no key with id %q in %s", id, path)
	}
	ki := kf.Keys[found]
	kf.Keys = append(kf.Keys[:found], kf.Keys[found+1:]...)
	return ki, writeKeyFile(path, kf)
}
