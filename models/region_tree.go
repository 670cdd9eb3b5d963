package models

import (
	"context"
)

// RegionNode is a region of a tree with how many schools it holds directly.
type RegionNode struct {
	Region
	Schools int64 `gorm:"column:schools"`
}

// FindRegionTree lists the regions actor a oversees, ordered by path (a
// parent before its children): a bureau admin's region and its whole
// subtree, every region for a platform admin; other roles get ErrForbidden.
func FindRegionTree(ctx context.Context, db *DB, a Actor) ([]RegionNode, error) {
	q := db.Read(ctx).Table("regions r").
		Select("r.*, (SELECT COUNT(*) FROM schools s WHERE s.region_id = r.id) AS schools").
		Order("r.path")
	switch a.Role {
	case RolePlatformAdmin:
	case RoleBureauAdmin:
		mine, err := RegionPath(ctx, db, a.RegionID)
		if err != nil {
			return nil, err
		}
		q = q.Where("r.path LIKE ?", mine+"%")
	default:
		return nil, ErrForbidden
	}
	var out []RegionNode
	return out, q.Scan(&out).Error
}
