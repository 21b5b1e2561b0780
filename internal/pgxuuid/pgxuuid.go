// Package pgxuuid teaches pgx the google/uuid type that commerce.ID is.
//
// pgx does not know uuid.UUID, so without this every id parameter goes
// through driver.Valuer (formatted to a string, refused by the binary
// encoder, parsed back) and every uuid column through sql.Scanner — per
// element of every `= ANY($1)` array. That was 16 % of a product listing's
// allocations. Registering it makes ids travel as their 16 bytes.
package pgxuuid

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// AfterConnect registers the type on a new connection; use it as
// pgxpool.Config.AfterConnect.
func AfterConnect(_ context.Context, conn *pgx.Conn) error {
	Register(conn.TypeMap())
	return nil
}

// Register makes m encode and scan uuid.UUID (and slices of it) natively.
func Register(m *pgtype.Map) {
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{tryWrapEncodePlan}, m.TryWrapEncodePlanFuncs...)
	// Scanning goes through the codec: pgx prefers a target's sql.Scanner
	// (which uuid.UUID has) to any wrap function, but asks the codec first.
	t := &pgtype.Type{Name: "uuid", OID: pgtype.UUIDOID, Codec: codec{}}
	m.RegisterType(t)
	m.RegisterType(&pgtype.Type{Name: "_uuid", OID: pgtype.UUIDArrayOID, Codec: &pgtype.ArrayCodec{ElementType: t}})
	m.RegisterDefaultPgType(uuid.UUID{}, "uuid")
	m.RegisterDefaultPgType([]uuid.UUID{}, "_uuid")
}

// codec is pgx's uuid codec, scanning straight into *uuid.UUID.
type codec struct{ pgtype.UUIDCodec }

func (c codec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if _, ok := target.(*uuid.UUID); ok {
		if inner := c.UUIDCodec.PlanScan(m, oid, format, (*id)(nil)); inner != nil {
			return scanPlan{next: inner}
		}
	}
	return c.UUIDCodec.PlanScan(m, oid, format, target)
}

// id adapts uuid.UUID to pgtype's UUID interfaces.
type id uuid.UUID

func (u id) UUIDValue() (pgtype.UUID, error) { return pgtype.UUID{Bytes: u, Valid: true}, nil }

func (u *id) ScanUUID(v pgtype.UUID) error {
	if !v.Valid {
		return fmt.Errorf("cannot scan NULL into *uuid.UUID")
	}
	*u = id(v.Bytes)
	return nil
}

func tryWrapEncodePlan(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	if v, ok := value.(uuid.UUID); ok {
		return &encodePlan{}, id(v), true
	}
	return nil, nil, false
}

type encodePlan struct{ next pgtype.EncodePlan }

func (p *encodePlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *encodePlan) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode(id(value.(uuid.UUID)), buf)
}

type scanPlan struct{ next pgtype.ScanPlan }

func (p scanPlan) Scan(src []byte, dst any) error {
	return p.next.Scan(src, (*id)(dst.(*uuid.UUID)))
}
