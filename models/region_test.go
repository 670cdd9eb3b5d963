package models_test

import (
	"context"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestRegionTreeScope: a bureau admin's scope is its region's subtree.
func TestRegionTreeScope(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	city := modelstest.Region(t, db, nil)
	county := modelstest.Region(t, db, &city.ID)
	other := modelstest.Region(t, db, nil)
	if county.Path != "/"+fmtInt(city.ID)+"/"+fmtInt(county.ID)+"/" {
		t.Fatalf("county path = %q", county.Path)
	}
	bureau := models.Actor{Role: models.RoleBureauAdmin, RegionID: city.ID}
	for _, c := range []struct {
		name string
		id   int64
		want bool
	}{{"own", city.ID, true}, {"child", county.ID, true}, {"other", other.ID, false}, {"missing", 999999, false}} {
		t.Run(c.name, func(t *testing.T) {
			got, err := models.RegionInScope(ctx, db, bureau, c.id)
			if err != nil || got != c.want {
				t.Fatalf("RegionInScope = %v, %v; want %v", got, err, c.want)
			}
		})
	}
	lower := models.Actor{Role: models.RoleBureauAdmin, RegionID: county.ID}
	if ok, _ := models.RegionInScope(ctx, db, lower, city.ID); ok {
		t.Fatal("a county bureau sees its parent city")
	}
}
