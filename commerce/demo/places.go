package demo

import "github.com/omnicanal/omnicanal/commerce"

// Location codes of the demo stores and warehouses. Codes are what people
// type and what tests name, so they are short and never change.
const (
	CodeParis       = "PAR-RIVOLI"
	CodeLyon        = "LYO-PARTDIEU"
	CodeBordeaux    = "BDX-INTENDANCE"
	CodeMontreal    = "MTL-STECATHERINE"
	CodeWarehouseFR = "ENT-ORLEANS"
	CodeWarehouseCA = "ENT-LAVAL"
)

// Publishable keys of the demo channels. They are public on purpose (a
// publishable key only says which channel a client speaks as), identical on
// every machine, and listed in the README.
const (
	KeyWebEU    = "pk_demo_web_eu"
	KeyMobileEU = "pk_demo_mobile_eu"
	KeyWebCA    = "pk_demo_web_ca"
	KeyMobileCA = "pk_demo_mobile_ca"

	KeyKioskParis    = "pk_demo_kiosk_paris"
	KeyKioskLyon     = "pk_demo_kiosk_lyon"
	KeyKioskBordeaux = "pk_demo_kiosk_bordeaux"
	KeyKioskMontreal = "pk_demo_kiosk_montreal"

	KeyPOSParis    = "pk_demo_pos_paris"
	KeyPOSLyon     = "pk_demo_pos_lyon"
	KeyPOSBordeaux = "pk_demo_pos_bordeaux"
	KeyPOSMontreal = "pk_demo_pos_montreal"
)

// Location is one demo store or warehouse, as stored in the locations table.
type Location struct {
	ID                commerce.ID
	Code              string
	Kind              string // "store" or "warehouse"
	Name              string
	AddressLine1      string
	City              string
	PostalCode        string
	Region            string
	CountryCode       string
	Latitude          float64
	Longitude         float64
	TimeZone          string
	OpeningHours      []OpeningHours
	PickupEnabled     bool
	PickupPrepMinutes int
	PickupHoldDays    int
}

// OpeningHours is one opening period of a weekday (1 = Monday … 7 = Sunday) in
// the location's local time. A day that is missing is a closed day.
type OpeningHours struct {
	Day    int    `json:"day"`
	Opens  string `json:"opens"`
	Closes string `json:"closes"`
}

// Channel is one demo sales channel.
type Channel struct {
	ID       commerce.ID
	Kind     string // "web", "mobile", "kiosk" or "pos"
	Name     string
	Key      string
	Currency commerce.Currency
	// StoreCode is the store a kiosk or till stands in; empty for web and mobile.
	StoreCode string
}

// week returns the same hours for each of days.
func week(opens, closes string, days ...int) []OpeningHours {
	hs := make([]OpeningHours, len(days))
	for i, d := range days {
		hs[i] = OpeningHours{Day: d, Opens: opens, Closes: closes}
	}
	return hs
}

// Locations returns the demo stores, then the warehouses, in a fixed order.
// Each call returns a fresh slice the caller may modify.
func Locations() []Location {
	ls := []Location{
		{
			Code: CodeParis, Kind: "store", Name: "Maison Sentier Paris Rivoli",
			AddressLine1: "112 rue de Rivoli", City: "Paris", PostalCode: "75001",
			Region: "Île-de-France", CountryCode: "FR", Latitude: 48.8605, Longitude: 2.3436,
			TimeZone: "Europe/Paris",
			// Rivoli is in a tourist zone, where shops may open on Sundays.
			OpeningHours:  append(week("10:00", "20:00", 1, 2, 3, 4, 5, 6), week("11:00", "19:00", 7)...),
			PickupEnabled: true, PickupPrepMinutes: 60, PickupHoldDays: 7,
		},
		{
			Code: CodeLyon, Kind: "store", Name: "Maison Sentier Lyon Part-Dieu",
			AddressLine1: "17 rue du Docteur Bouchut", City: "Lyon", PostalCode: "69003",
			Region: "Auvergne-Rhône-Alpes", CountryCode: "FR", Latitude: 45.7610, Longitude: 4.8556,
			TimeZone:      "Europe/Paris",
			OpeningHours:  week("09:30", "20:00", 1, 2, 3, 4, 5, 6),
			PickupEnabled: true, PickupPrepMinutes: 90, PickupHoldDays: 7,
		},
		{
			Code: CodeBordeaux, Kind: "store", Name: "Maison Sentier Bordeaux",
			AddressLine1: "45 cours de l'Intendance", City: "Bordeaux", PostalCode: "33000",
			Region: "Nouvelle-Aquitaine", CountryCode: "FR", Latitude: 44.8423, Longitude: -0.5768,
			TimeZone: "Europe/Paris",
			// Closed on Mondays, as many town-centre shops outside Paris are.
			OpeningHours:  week("10:00", "19:00", 2, 3, 4, 5, 6),
			PickupEnabled: true, PickupPrepMinutes: 120, PickupHoldDays: 5,
		},
		{
			Code: CodeMontreal, Kind: "store", Name: "Maison Sentier Montréal Sainte-Catherine",
			AddressLine1: "1250 rue Sainte-Catherine Ouest", City: "Montréal", PostalCode: "H3G 1P1",
			Region: "QC", CountryCode: "CA", Latitude: 45.4994, Longitude: -73.5752,
			// Montréal keeps Eastern time; the tz database names that zone
			// America/Toronto (America/Montreal is only a link to it).
			TimeZone: "America/Toronto",
			// Québec shops close early at the start of the week and late on
			// Thursdays and Fridays.
			OpeningHours: append(append(append(
				week("10:00", "18:00", 1, 2, 3),
				week("10:00", "21:00", 4, 5)...),
				week("10:00", "17:00", 6)...),
				week("11:00", "17:00", 7)...),
			PickupEnabled: true, PickupPrepMinutes: 120, PickupHoldDays: 10,
		},
		{
			Code: CodeWarehouseFR, Kind: "warehouse", Name: "Entrepôt Orléans-Saran",
			AddressLine1: "210 rue de la Bergeresse", City: "Saran", PostalCode: "45770",
			Region: "Centre-Val de Loire", CountryCode: "FR", Latitude: 47.9415, Longitude: 1.8790,
			TimeZone:     "Europe/Paris",
			OpeningHours: week("06:00", "21:00", 1, 2, 3, 4, 5),
		},
		{
			Code: CodeWarehouseCA, Kind: "warehouse", Name: "Entrepôt Laval",
			AddressLine1: "2500 avenue Francis-Hughes", City: "Laval", PostalCode: "H7S 2C1",
			Region: "QC", CountryCode: "CA", Latitude: 45.5705, Longitude: -73.7218,
			TimeZone:     "America/Toronto",
			OpeningHours: week("07:00", "19:00", 1, 2, 3, 4, 5),
		},
	}
	for i := range ls {
		ls[i].ID = LocationID(ls[i].Code)
	}
	return ls
}

// Channels returns the demo channels in the order the README lists them:
// web and mobile per region, then a kiosk and a till per store.
// Each call returns a fresh slice the caller may modify.
func Channels() []Channel {
	cs := []Channel{
		{Kind: "web", Name: "Web Europe", Key: KeyWebEU, Currency: "EUR"},
		{Kind: "mobile", Name: "Mobile Europe", Key: KeyMobileEU, Currency: "EUR"},
		{Kind: "web", Name: "Web Canada", Key: KeyWebCA, Currency: "CAD"},
		{Kind: "mobile", Name: "Mobile Canada", Key: KeyMobileCA, Currency: "CAD"},
		{Kind: "kiosk", Name: "Kiosk Paris Rivoli", Key: KeyKioskParis, Currency: "EUR", StoreCode: CodeParis},
		{Kind: "kiosk", Name: "Kiosk Lyon Part-Dieu", Key: KeyKioskLyon, Currency: "EUR", StoreCode: CodeLyon},
		{Kind: "kiosk", Name: "Kiosk Bordeaux", Key: KeyKioskBordeaux, Currency: "EUR", StoreCode: CodeBordeaux},
		{Kind: "kiosk", Name: "Kiosk Montréal Sainte-Catherine", Key: KeyKioskMontreal, Currency: "CAD", StoreCode: CodeMontreal},
		{Kind: "pos", Name: "POS Paris Rivoli", Key: KeyPOSParis, Currency: "EUR", StoreCode: CodeParis},
		{Kind: "pos", Name: "POS Lyon Part-Dieu", Key: KeyPOSLyon, Currency: "EUR", StoreCode: CodeLyon},
		{Kind: "pos", Name: "POS Bordeaux", Key: KeyPOSBordeaux, Currency: "EUR", StoreCode: CodeBordeaux},
		{Kind: "pos", Name: "POS Montréal Sainte-Catherine", Key: KeyPOSMontreal, Currency: "CAD", StoreCode: CodeMontreal},
	}
	for i := range cs {
		cs[i].ID = ChannelID(cs[i].Key)
	}
	return cs
}
