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
//
// It holds at most addPoolConns connections (fewer if cfg says so): adds
// use it only while they lead a group or run alone, so that is enough,
// and a server's connections to Postgres grow by that much only.
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
	c.MaxConns = min(c.MaxConns, addPoolConns())
	return pgxpool.NewWithConfig(ctx, c)
}

// addPoolConns bounds the add pool: one connection per group that may run
// at once (the default, see defaultAddGroups), again as many for adds that
// find the slot free, and a group's worth of adds sent on alone after
// their group failed. More adds at once wait for a connection, as they
// would for a group.
func addPoolConns() int32 { return int32(2*defaultAddGroups() + DefaultAddGroupSize) }

// WithAddPool makes adds, alone and in groups, run on pool, which
// NewAddPool made. Without it they run on the service's pool and send
// their settings each time, as they do when the service does not group
// adds (WithAddGroups(0, …)): every add then runs alone, as many at once
// as there are requests, more than the add pool holds.
func WithAddPool(pool *pgxpool.Pool) Option { return func(s *Service) { s.addPool = pool } }

// addsOn returns where adds run, alone or in a group, and the settings
// statement to send before them ("" for none): the add pool, whose
// sessions have them, or the service's pool.
func (s *Service) addsOn(group bool) (*pgxpool.Pool, string) {
	switch {
	case s.addPool != nil && s.combiner != nil:
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
