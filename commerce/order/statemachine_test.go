package order

import "testing"

func TestCanTransition(t *testing.T) {
	all := []Status{PendingPayment, Placed, Preparing, ReadyForPickup, PickedUp, Shipped, Cancelled, Expired}
	allowed := map[[2]Status]bool{
		{PendingPayment, Placed}: true, {PendingPayment, Cancelled}: true, {PendingPayment, Expired}: true,
		{Placed, Preparing}: true, {Placed, Cancelled}: true, {Placed, Expired}: true,
		{Preparing, ReadyForPickup}: true, {Preparing, Shipped}: true, {Preparing, Cancelled}: true, {Preparing, Expired}: true,
		{ReadyForPickup, PickedUp}: true, {ReadyForPickup, Cancelled}: true, {ReadyForPickup, Expired}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got, want := CanTransition(from, to), allowed[[2]Status{from, to}]; got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
		if from.Open() != (from == PendingPayment || from == Placed || from == Preparing || from == ReadyForPickup) {
			t.Errorf("%s.Open() = %v", from, from.Open())
		}
		// Every open status can end; no closed status goes anywhere.
		if from.Open() != (CanTransition(from, Cancelled) && CanTransition(from, Expired)) {
			t.Errorf("%s: open %v but ends %v/%v", from, from.Open(), CanTransition(from, Cancelled), CanTransition(from, Expired))
		}
	}
}

func TestCanTransitionFor(t *testing.T) {
	for _, tc := range []struct {
		f        FulfillmentKind
		from, to Status
		want     bool
	}{
		{Pickup, Preparing, ReadyForPickup, true},
		{Shipping, Preparing, ReadyForPickup, false},
		{Pickup, ReadyForPickup, PickedUp, true},
		{Shipping, Preparing, Shipped, true},
		{Pickup, Preparing, Shipped, false},
		{Shipping, Placed, Preparing, true},
		{Pickup, PendingPayment, Preparing, false},
	} {
		if got := CanTransitionFor(tc.f, tc.from, tc.to); got != tc.want {
			t.Errorf("CanTransitionFor(%s, %s, %s) = %v, want %v", tc.f, tc.from, tc.to, got, tc.want)
		}
	}
}

func TestCanTransitionPayment(t *testing.T) {
	all := []PaymentStatus{Unpaid, PaymentPending, Paid, Refunded, PartiallyRefunded, Voided, PaymentFailed}
	allowed := map[[2]PaymentStatus]bool{
		{Unpaid, PaymentPending}: true, {Unpaid, Paid}: true, {Unpaid, PaymentFailed}: true, {Unpaid, Voided}: true,
		{PaymentPending, Paid}: true, {PaymentPending, PaymentFailed}: true, {PaymentPending, Voided}: true,
		{PaymentFailed, PaymentPending}: true, {PaymentFailed, Paid}: true, {PaymentFailed, Voided}: true,
		{Paid, PartiallyRefunded}: true, {Paid, Refunded}: true,
		{PartiallyRefunded, Refunded}: true,
		{Voided, Paid}:                true,
	}
	for _, from := range all {
		for _, to := range all {
			if got, want := CanTransitionPayment(from, to), allowed[[2]PaymentStatus{from, to}]; got != want {
				t.Errorf("CanTransitionPayment(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	// Forward only: once paid, no event brings it back to pending or failed.
	for _, late := range []PaymentStatus{Unpaid, PaymentPending, PaymentFailed, Voided} {
		if CanTransitionPayment(Paid, late) {
			t.Errorf("paid → %s allowed", late)
		}
	}
}

func TestTaxRatePercent(t *testing.T) {
	for ppm, want := range map[int]string{200000: "20", 149750: "14.975", 55000: "5.5", 0: "0", 1: "0.0001"} {
		if got := (Line{TaxRatePPM: ppm}).TaxRatePercent(); got != want {
			t.Errorf("%d ppm: %q, want %q", ppm, got, want)
		}
	}
}
