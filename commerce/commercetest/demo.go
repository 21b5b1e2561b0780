package commercetest

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce/demo"
)

// WithDemo makes NewDB clone a template filled with the demo data
// (demo.Seed: catalog, channels, stores, staff, stock), seeded once per
// test process. It is WithSeed under the name "demo".
func WithDemo() Option {
	return WithSeed("demo", func(ctx context.Context, pool *pgxpool.Pool) error {
		_, err := demo.Seed(ctx, pool)
		return err
	})
}
