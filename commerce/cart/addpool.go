package cart

import (
	"context"
	"errors"
	"maps"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// addSessionSettings are the settings of the add pool's sessions: how
// addPlans plans and how long groupSettings lets a group wait for a row
// lock, for a whole session rather than one transaction.
var addSessionSettings = map[string]string{
	"plan_cache_mode":  "force_generic_plan",
	"enable_hashjoin":  "off",
	"enable_mergejoin": "off",
	"lock_timeout":     "50ms",
}

// NewAddPool returns a pool for WithAddPool, with cfg's settings (copied)
// and those of addSessionSettings for every session. The caller closes it.
// It opens connections as adds need them, up to cfg's MaxConns: with
// groups of adds (the default) a few, since at most one group per two
// processors runs at once, but a server now may hold up to twice cfg's
// MaxConns connections in all.
//
// An add sends its plan settings as a statement of its own before the add
// and the read, since they must not outlive its transaction on a
// connection that serves every other query. On connections that serve
// adds only, they are set once, when the session starts: one statement
// less per add or group, on the path that every add waits its turn on
// (docs/performance.md, issue 4). No other statement runs there.
func NewAddPool(ctx context.Context, cfg *pgxpool.Config) (*pgxpool.Pool, error) {
	c := cfg.Copy()
	c.ConnConfig.RuntimeParams = maps.Clone(c.ConnConfig.RuntimeParams)
	if c.ConnConfig.RuntimeParams == nil {
		c.ConnConfig.RuntimeParams = map[string]string{}
	}
	maps.Copy(c.ConnConfig.RuntimeParams, addSessionSettings)
	return pgxpool.NewWithConfig(ctx, c)
}

// WithAddPool makes adds, alone and in groups, run on pool, which
// NewAddPool made. Without it they run on the service's pool and send
// their settings each time.
func WithAddPool(pool *pgxpool.Pool) Option { return func(s *Service) { s.addPool = pool } }

// addsOn returns where adds run, alone or in a group, and the settings
// statement to send before them ("" for none): the add pool, whose
// sessions have them, or the service's pool.
func (s *Service) addsOn(group bool) (*pgxpool.Pool, string) {
	switch {
	case s.addPool != nil:
		return s.addPool, ""
	case group:
		return s.pool, groupSettings
	default:
		return s.pool, addPlans
	}
}

// isLockTimeout tells whether err is lock_timeout's: see addAlone.
func isLockTimeout(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pgErr.Code == "55P03"
}
