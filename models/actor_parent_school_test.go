package models_test

import (
	"context"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestParentHasChildInSchool covers the answers of the rewritten query:
// linked child in the school, child in another school, no child.
func TestParentHasChildInSchool(t *testing.T) {
	ctx := context.Background()
	db := modelstest.MustOpenDB(t)
	r := modelstest.Region(t, db, nil)
	a, b := modelstest.School(t, db, r.ID), modelstest.School(t, db, r.ID)
	for i := 0; i < 20; i++ {
		modelstest.Student(t, db, a.ID, 3, "")
	}
	kid := modelstest.Student(t, db, b.ID, 3, "13800000001")
	parent := modelstest.Parent(t, db, kid.ID)
	stranger := modelstest.Parent(t, db)
	for _, tc := range []struct {
		name         string
		user, school int64
		want         bool
	}{
		{"childInSchool", parent.ID, b.ID, true},
		{"childElsewhere", parent.ID, a.ID, false},
		{"noChild", stranger.ID, b.ID, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := models.ParentHasChildInSchool(ctx, db, tc.user, tc.school)
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
