package channel

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
)

// cacheTTL bounds how long a changed or removed channel may still be served
// from memory. Every request resolves its channel, so caching it saves one
// round trip per request; channels change rarely.
const cacheTTL = 30 * time.Second

// Service reads channels.
type Service struct {
	pool *pgxpool.Pool
	now  func() time.Time

	mu    sync.RWMutex
	byKey map[string]cached
}

type cached struct {
	ch      *Channel
	expires time.Time
}

// NewService returns a channel service over pool.
func NewService(pool *pgxpool.Pool) *Service {
	return &Service{pool: pool, now: time.Now, byKey: make(map[string]cached)}
}

const columns = `id, kind, name, currency_code, location_id, publishable_key`

// FindChannelByKey resolves a publishable key. An unknown key is an
// UNKNOWN_CHANNEL error (not NOT_FOUND: the client configured a wrong key).
func (s *Service) FindChannelByKey(ctx context.Context, key string) (*Channel, error) {
	now := s.now()
	s.mu.RLock()
	c, ok := s.byKey[key]
	s.mu.RUnlock()
	if ok && now.Before(c.expires) {
		return c.ch, nil
	}
	if key == "" || len(key) > 200 {
		return nil, commerce.Errorf(commerce.ErrUnknownChannel, "unknown channel key")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM channels WHERE publishable_key = $1`, key)
	ch, err := db.One[Channel](rows, err, "channel")
	if commerce.ErrorCode(err) == commerce.ErrNotFound {
		return nil, commerce.Errorf(commerce.ErrUnknownChannel, "no sales channel has the key given in X-Channel-Key")
	}
	if err != nil {
		return nil, fmt.Errorf("channel.FindChannelByKey: %w", err)
	}
	s.mu.Lock()
	// The cache only ever holds real keys, so it cannot be grown by guessing.
	s.byKey[key] = cached{ch: &ch, expires: now.Add(cacheTTL)}
	s.mu.Unlock()
	return &ch, nil
}
