package models_test

import (
	"context"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// BenchmarkParentHasChildInSchool is the check a parent's browse makes on
// every request: the link_version read plus the cached children.
func BenchmarkParentHasChildInSchool(b *testing.B) {
	db := modelstest.MustOpenDB(b)
	ctx := context.Background()
	sc := modelstest.School(b, db, modelstest.Region(b, db, nil).ID)
	p := modelstest.Parent(b, db, modelstest.Student(b, db, sc.ID, 3, "").ID)
	for b.Loop() {
		if ok, err := models.ParentHasChildInSchool(ctx, db, p.ID, sc.ID); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkChildrenQuery is what the check would cost without the cache:
// the parent's children read from the database each time.
func BenchmarkChildrenQuery(b *testing.B) {
	db := modelstest.MustOpenDB(b)
	ctx := context.Background()
	sc := modelstest.School(b, db, modelstest.Region(b, db, nil).ID)
	p := modelstest.Parent(b, db, modelstest.Student(b, db, sc.ID, 3, "").ID)
	for b.Loop() {
		if kids, err := models.ChildrenOf(ctx, db, p.ID); err != nil || len(kids) != 1 {
			b.Fatal(kids, err)
		}
	}
}
