package models

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestDummyHashCostMatches: an unknown username must cost the same bcrypt
// work as a wrong password, or login timing tells which usernames exist.
func TestDummyHashCostMatches(t *testing.T) {
	cost, err := bcrypt.Cost(dummyHash())
	if err != nil || cost != BcryptCost {
		t.Fatalf("dummy hash cost = %d, %v; want BcryptCost %d", cost, err, BcryptCost)
	}
}
