package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// RerunMigration runs the SQL of migration version again on a migrated
// database, so a test can put old-style rows in first and check what the
// migration makes of them.
func RerunMigration(ctx context.Context, db *DB, version int) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Version != version {
			continue
		}
		return db.Tx(ctx, func(tx *gorm.DB) error {
			for _, stmt := range splitSQL(placeholders[db.Dialect].Replace(m.SQL)) {
				if err := tx.Exec(stmt).Error; err != nil {
					return fmt.Errorf("%s: %w", m.Name, err)
				}
			}
			return nil
		})
	}
	return fmt.Errorf("no migration %d", version)
}
