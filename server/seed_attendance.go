package main

import (
	"context"

	"kehou/models"
)

// seedDemoTeacher makes demo_teacher the teacher of school's demo clubs
// (those without one), so the demo teacher has sessions to take the roll of.
func seedDemoTeacher(ctx context.Context, db *models.DB, schoolID int64) error {
	u, err := models.FindUserByUsername(ctx, db, "demo_teacher")
	if err != nil {
		return err
	}
	os, err := models.FindOfferings(ctx, db, models.SystemActor, schoolID, models.OfferingFilter{Kind: models.KindClub})
	if err != nil {
		return err
	}
	for _, o := range os {
		if o.TeacherUserID != nil {
			continue
		}
		if _, err := models.PatchOffering(ctx, db, models.SystemActor, o.ID, models.UpdateOffering{TeacherUserID: &u.ID}); err != nil {
			return err
		}
	}
	return nil
}
