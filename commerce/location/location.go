// Package location knows the places stock is held: stores (which may offer
// click & collect) and warehouses, with their address, position and hours.
package location

import (
	"math"

	"github.com/omnicanal/omnicanal/commerce"
)

// Kind tells a store from a warehouse.
type Kind string

const (
	Store     Kind = "store"
	Warehouse Kind = "warehouse"
)

// Location is a store or a warehouse.
type Location struct {
	ID                commerce.ID
	Code              string
	Kind              Kind
	Name              string
	Address           Address
	Point             Point
	TimeZone          string
	OpeningHours      []OpeningHours
	PickupEnabled     bool
	PickupPrepMinutes int
	PickupHoldDays    int
	// Currency is what the location sells and refunds in: an order is
	// collected, shipped from or returned only where its currency is.
	Currency commerce.Currency
	// DistanceKm is set when the location was found near a point.
	DistanceKm *float64
}

// Address is a postal address.
type Address struct {
	Line1       string
	Line2       string
	City        string
	PostalCode  string
	Region      string
	CountryCode string
}

// Point is a position in decimal degrees (WGS 84).
type Point struct {
	Lat, Lng float64
}

// Validate checks the coordinates are on Earth.
func (p Point) Validate() error {
	if math.IsNaN(p.Lat) || p.Lat < -90 || p.Lat > 90 {
		return commerce.InvalidInput("near.lat", "latitude must be between -90 and 90")
	}
	if math.IsNaN(p.Lng) || p.Lng < -180 || p.Lng > 180 {
		return commerce.InvalidInput("near.lng", "longitude must be between -180 and 180")
	}
	return nil
}

// earthRadiusKm is the mean Earth radius used by DistanceKm.
const earthRadiusKm = 6371.0088

// DistanceKm is the great-circle (haversine) distance between two points.
func DistanceKm(a, b Point) float64 {
	rad := math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLng := (b.Lng - a.Lng) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(h)))
}

// OpeningHours is one opening period of a weekday (1 = Monday … 7 = Sunday),
// in the location's local time ("09:30").
type OpeningHours struct {
	Day    int    `json:"day"`
	Opens  string `json:"opens"`
	Closes string `json:"closes"`
}
