package demo

import (
	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/password"
)

// StaffPassword is the password of every demo associate, so that the
// pickup desk can be tried right after `make run`. It is public (listed in
// the README) and exists only in databases the demo seed loaded: seeding a
// production database would hand the demo stores to anyone, as the demo
// channel keys would.
const StaffPassword = "demo-desk-2026"

// Demo associates, one per store, signing in with StaffPassword.
const (
	StaffParis    = "associate.paris@maison-sentier.example"
	StaffLyon     = "associate.lyon@maison-sentier.example"
	StaffBordeaux = "associate.bordeaux@maison-sentier.example"
	StaffMontreal = "associate.montreal@maison-sentier.example"
)

// StaffMember is a demo staff user.
type StaffMember struct {
	ID        commerce.ID
	Email     string
	Name      string
	Role      commerce.Role
	StoreCode string
}

// StaffID returns the id of the demo staff user with that email.
func StaffID(email string) commerce.ID { return uuid.NewSHA1(namespace, []byte("staff:"+email)) }

// Staff returns the demo staff users: an associate for each store.
func Staff() []StaffMember {
	people := []struct{ email, name, store string }{
		{StaffParis, "Camille Martin", CodeParis},
		{StaffLyon, "Hugo Bernard", CodeLyon},
		{StaffBordeaux, "Inès Dubois", CodeBordeaux},
		{StaffMontreal, "Félix Tremblay", CodeMontreal},
	}
	out := make([]StaffMember, len(people))
	for i, p := range people {
		out[i] = StaffMember{ID: StaffID(p.email), Email: p.email, Name: p.name, Role: commerce.RoleAssociate, StoreCode: p.store}
	}
	return out
}

// staffTable lays the demo staff out as staff_users rows. The password is
// hashed here, with a fresh salt, once for all of them (they share it
// anyway); like every demo row, a user already there keeps the password
// someone may have changed.
func staffTable() (*seedTable, error) {
	hash, err := password.Hash(StaffPassword, password.DefaultParams)
	if err != nil {
		return nil, err
	}
	t := &seedTable{
		name:  "staff_users",
		cols:  []string{"id", "email", "name", "role", "location_ids", "password_hash"},
		where: "NOT EXISTS (SELECT 1 FROM unnest(t.location_ids) l WHERE NOT EXISTS (SELECT 1 FROM locations x WHERE x.id = l))",
	}
	for _, s := range Staff() {
		t.rows = append(t.rows, []any{s.ID, s.Email, s.Name, string(s.Role), []commerce.ID{LocationID(s.StoreCode)}, hash})
	}
	return t, nil
}
