package web

import (
	"net/http"
	"testing"
)

// The pickup desk page is served at /pickup/ under the strict policy, like
// the kiosk: same-origin embedded assets only, nothing inline. (The
// browser test in cmd/omnicanal runs it.) Its GraphQL client is the
// shared one, given the staff token.
func TestPickupDeskPage(t *testing.T) {
	scripts, styles := strictPage(t, "/pickup/")
	checkLoads(t, "scripts", scripts, sharedScripts, "/pickup/pickup.js")
	checkLoads(t, "stylesheets", styles, sharedStyles, "/pickup/pickup.css")
	pageScript(t, "pickup/pickup.js", "window.OmnicanalGraphQL", "Authorization", "staffSignIn", "staffMe",
		"pickupQueueUpdated", "pickupOrderReady", "pickupOrderHandOver")
}

// The QR image of a pickup code is the code itself, for the desk's scanner
// to type; anything that is not a code's shape is refused.
func TestPickupQR(t *testing.T) {
	rec := get(t, PickupQR(), PickupQRPath+"?code=abc-234", nil)
	checkQR(t, rec, "ABC234")
	for _, target := range []string{PickupQRPath, PickupQRPath + "?code=https://evil.example", PickupQRPath + "?code=ABC23O",
		PickupQRPath + "?code=ABC2345"} {
		if rec := get(t, PickupQR(), target, nil); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d", target, rec.Code)
		}
	}
}
