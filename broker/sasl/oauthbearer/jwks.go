package oauthbearer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// unknownKeyRefreshInterval bounds how often a token with an unknown kid
// makes the broker fetch the JWKS again, so that a client sending made-up
// key IDs cannot hammer the identity provider. Kafka's RefreshingHttpsJwks
// has the same guard (10 s).
const unknownKeyRefreshInterval = 10 * time.Second

// httpKeys is a JWKS fetched from an http(s) URL, fetched again every
// refresh interval and when a token names a kid it does not hold (at most
// once per unknownKeyRefreshInterval).
type httpKeys struct {
	cached           keyfunc.Keyfunc // the last fetched key set
	refreshing       keyfunc.Keyfunc // the same set, fetched again on an unknown kid
	unknownKeyPolicy *rate.Limiter
	stop             context.CancelFunc
}

func newHTTPKeys(url string, refresh time.Duration, tlsConfig *tls.Config) (*httpKeys, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	if tlsConfig != nil {
		client.Transport = &http.Transport{TLSClientConfig: tlsConfig}
	}
	ctx, stop := context.WithCancel(context.Background())
	// The first fetch happens here, so that a wrong URL or an untrusted
	// certificate fails the broker's start rather than every login.
	storage, err := jwkset.NewStorageFromHTTP(url, jwkset.HTTPClientStorageOptions{
		Client:              client,
		Ctx:                 ctx,
		HTTPTimeout:         client.Timeout,
		RefreshInterval:     refresh,
		RefreshErrorHandler: func(context.Context, error) {}, // the last good key set stays in use
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("fetch JWKS from %s: %w", url, err)
	}
	if keys, err := storage.KeyReadAll(ctx); err != nil || len(keys) == 0 {
		stop()
		return nil, fmt.Errorf("fetch JWKS from %s: no usable key in the key set", url)
	}
	cached, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: storage})
	if err != nil {
		stop()
		return nil, fmt.Errorf("JWKS key lookup for %s: %w", url, err)
	}
	// jwkset's own limiter would make a login wait for its turn; the
	// unknownKeyPolicy limiter below decides instead, without waiting,
	// so this one lets every refresh through.
	refresher, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{url: storage},
		RateLimitWaitMax:  client.Timeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1),
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("JWKS client for %s: %w", url, err)
	}
	refreshing, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: refresher})
	if err != nil {
		stop()
		return nil, fmt.Errorf("JWKS key lookup for %s: %w", url, err)
	}
	return &httpKeys{
		cached:           cached,
		refreshing:       refreshing,
		unknownKeyPolicy: rate.NewLimiter(rate.Every(unknownKeyRefreshInterval), 1),
		stop:             stop,
	}, nil
}

func (k *httpKeys) key(token *jwt.Token) (any, error) {
	key, err := k.cached.Keyfunc(token)
	if errors.Is(err, jwkset.ErrKeyNotFound) && k.unknownKeyPolicy.Allow() {
		key, err = k.refreshing.Keyfunc(token)
	}
	if errors.Is(err, jwkset.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: %v", errUnknownKeyID, err)
	}
	return key, err
}

func (k *httpKeys) close() { k.stop() }

// fileKeys is a JWKS read from a local file (a file:// URL), read again
// when the file's modification time or size changes, so that rotating
// keys needs no restart.
type fileKeys struct {
	path string

	mu      sync.Mutex
	modTime time.Time
	size    int64
	keyfunc keyfunc.Keyfunc
}

func newFileKeys(path string) (*fileKeys, error) {
	k := &fileKeys{path: path}
	if err := k.reloadIfChanged(); err != nil {
		return nil, err
	}
	return k, nil
}

// reloadIfChanged re-reads the file when it changed; a file that became
// unreadable or invalid keeps the last good key set in use.
func (k *fileKeys) reloadIfChanged() error {
	info, err := os.Stat(k.path)
	if err != nil {
		return fmt.Errorf("read JWKS file: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keyfunc != nil && info.ModTime().Equal(k.modTime) && info.Size() == k.size {
		return nil
	}
	raw, err := os.ReadFile(k.path)
	if err != nil {
		return fmt.Errorf("read JWKS file: %w", err)
	}
	kf, err := keyfunc.NewJWKSetJSON(raw)
	if err != nil {
		return fmt.Errorf("parse JWKS file %s: %w", k.path, err)
	}
	if keys, err := kf.Storage().KeyReadAll(context.Background()); err != nil || len(keys) == 0 {
		return fmt.Errorf("parse JWKS file %s: no usable key in the key set", k.path)
	}
	k.keyfunc, k.modTime, k.size = kf, info.ModTime(), info.Size()
	return nil
}

func (k *fileKeys) key(token *jwt.Token) (any, error) {
	_ = k.reloadIfChanged() // on error the last good key set is used
	k.mu.Lock()
	kf := k.keyfunc
	k.mu.Unlock()
	key, err := kf.Keyfunc(token)
	if errors.Is(err, jwkset.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: %v", errUnknownKeyID, err)
	}
	return key, err
}

func (k *fileKeys) close() {}
