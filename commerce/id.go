package commerce

import "github.com/google/uuid"

// ID identifies every stored entity. IDs are UUIDs; new ones are version 7 so
// they sort by creation time and keep B-tree inserts local.
type ID = uuid.UUID

// NewID returns a fresh time-ordered ID.
func NewID() ID { return uuid.Must(uuid.NewV7()) }

// ParseID reads an ID given by a client, naming field in the error.
func ParseID(field, s string) (ID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return ID{}, InvalidInput(field, "%q is not a valid id", s)
	}
	return id, nil
}
