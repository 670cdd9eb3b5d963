package models

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Refund rules of a fee policy (SPEC "Fees and payment"); refund.go
// computes each.
const (
	RefundProRata         = "pro_rata"
	RefundNoneAfterStart  = "none_after_start"
	RefundFullBeforeStart = "full_before_start"
)

// DefaultHoldMinutes is the payment hold where no policy sets one.
const DefaultHoldMinutes = 30

// MaxHoldMinutes bounds a policy's hold (a week).
const MaxHoldMinutes = 7 * 24 * 60

// FeePolicy is a region's fee policy: per-session caps (nil: no cap), the
// payment hold, the refund rule. A region without one inherits the nearest
// ancestor's; RegionID/RegionName name the region that set it.
type FeePolicy struct {
	RegionID              int64     `gorm:"column:region_id;primaryKey"`
	BasicMaxFenPerSession *int64    `gorm:"column:basic_max_fen_per_session"`
	ClubMaxFenPerSession  *int64    `gorm:"column:club_max_fen_per_session"`
	HoldMinutes           int       `gorm:"column:hold_minutes"`
	RefundRule            string    `gorm:"column:refund_rule"`
	UpdatedBy             *int64    `gorm:"column:updated_by"`
	UpdatedAt             time.Time `gorm:"column:updated_at"`
	RegionName            string    `gorm:"-"`
}

// TableName maps FeePolicy to fee_policies.
func (FeePolicy) TableName() string { return "fee_policies" }

// DefaultFeePolicy is what applies where no region on the path sets one:
// no caps, the default hold, pro rata refunds.
func DefaultFeePolicy() FeePolicy {
	return FeePolicy{HoldMinutes: DefaultHoldMinutes, RefundRule: RefundProRata}
}

// NewFeePolicy is the input of SetFeePolicy.
type NewFeePolicy struct {
	BasicMaxFenPerSession *int64
	ClubMaxFenPerSession  *int64
	HoldMinutes           *int   // nil: DefaultHoldMinutes
	RefundRule            string // "": pro_rata
}

// ValidRefundRule reports whether r is a refund rule.
func ValidRefundRule(r string) bool {
	return r == RefundProRata || r == RefundNoneAfterStart || r == RefundFullBeforeStart
}

// SetFeePolicy sets region regionID's own fee policy (a bureau admin of
// that region or above, or a platform admin), audited. It applies to
// offerings published (or whose fee is raised) from then on; offerings
// already published keep their fee.
func SetFeePolicy(ctx context.Context, db *DB, a Actor, regionID int64, in NewFeePolicy) (FeePolicy, error) {
	if a.Role != RolePlatformAdmin && a.Role != RoleBureauAdmin {
		if a.IsStaff() {
			return FeePolicy{}, ErrForbidden
		}
		return FeePolicy{}, ErrNotFound
	}
	if _, err := RegionPath(ctx, db, regionID); err != nil {
		return FeePolicy{}, err // no such region: not_found
	}
	ok, err := RegionInScope(ctx, db, a, regionID)
	if err != nil {
		return FeePolicy{}, err
	}
	if !ok {
		return FeePolicy{}, ErrNotFound
	}
	var v Validator
	for field, c := range map[string]*int64{"basic_max_fen_per_session": in.BasicMaxFenPerSession, "club_max_fen_per_session": in.ClubMaxFenPerSession} {
		v.Check(c == nil || (*c >= 0 && *c <= 100_000_000), field, "每次课上限须为0-100000000分，或 null 表示不设上限")
	}
	p := FeePolicy{RegionID: regionID, BasicMaxFenPerSession: in.BasicMaxFenPerSession, ClubMaxFenPerSession: in.ClubMaxFenPerSession,
		HoldMinutes: DefaultHoldMinutes, RefundRule: in.RefundRule, UpdatedBy: nullID(a.UserID), UpdatedAt: db.now().UTC()}
	if in.HoldMinutes != nil {
		p.HoldMinutes = *in.HoldMinutes
	}
	if p.RefundRule == "" {
		p.RefundRule = RefundProRata
	}
	v.Check(p.HoldMinutes >= 1 && p.HoldMinutes <= MaxHoldMinutes, "hold_minutes", fmt.Sprintf("保留名额时长须为1-%d分钟", MaxHoldMinutes))
	v.Check(ValidRefundRule(p.RefundRule), "refund_rule", "退费规则须为 pro_rata、none_after_start 或 full_before_start")
	if err := v.Err(); err != nil {
		return FeePolicy{}, err
	}
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "region_id"}}, UpdateAll: true}).Create(&p).Error; err != nil {
			return err
		}
		return feeAudit(ctx, tx, a, "set_fee_policy", 0, regionID, fmt.Sprintf("region:%d", regionID),
			fmt.Sprintf("basic=%s club=%s hold=%d rule=%s", capText(p.BasicMaxFenPerSession), capText(p.ClubMaxFenPerSession), p.HoldMinutes, p.RefundRule), p.UpdatedAt)
	})
	if err != nil {
		return FeePolicy{}, err
	}
	return FindFeePolicy(ctx, db, a, regionID)
}

func capText(c *int64) string {
	if c == nil {
		return "none"
	}
	return strconv.FormatInt(*c, 10)
}

// FindFeePolicy answers the fee policy in force in region regionID for
// staff in scope of it (bureau: the region in its subtree; school staff:
// their school's region or an ancestor): the region's own, else the
// nearest ancestor's, else DefaultFeePolicy (RegionID 0).
func FindFeePolicy(ctx context.Context, db *DB, a Actor, regionID int64) (FeePolicy, error) {
	path, err := RegionPath(ctx, db, regionID)
	if err != nil {
		return FeePolicy{}, err
	}
	ok, err := RegionInScope(ctx, db, a, regionID)
	if err != nil {
		return FeePolicy{}, err
	}
	if !ok && (a.Role == RoleSchoolAdmin || a.Role == RoleTeacher) {
		s, err := FindSchoolByID(ctx, db, a.SchoolID)
		if err != nil {
			return FeePolicy{}, err
		}
		mine, err := RegionPath(ctx, db, s.RegionID)
		if err != nil {
			return FeePolicy{}, err
		}
		ok = strings.HasPrefix(mine, path)
	}
	if !ok {
		return FeePolicy{}, ErrNotFound
	}
	p, found, err := policyOnPath(db.Read(ctx), path)
	if err != nil || found {
		return p, err
	}
	return DefaultFeePolicy(), nil
}

// policyOnPath finds the fee policy of the deepest region on path
// ("/1/5/9/") that has one.
func policyOnPath(q *gorm.DB, path string) (FeePolicy, bool, error) {
	var ids []int64
	for _, s := range strings.Split(strings.Trim(path, "/"), "/") {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return FeePolicy{}, false, nil
	}
	var ps []FeePolicy
	if err := q.Where("region_id IN ?", ids).Find(&ps).Error; err != nil {
		return FeePolicy{}, false, err
	}
	for i := len(ids) - 1; i >= 0; i-- {
		for _, p := range ps {
			if p.RegionID == ids[i] {
				if err := q.Raw("SELECT name FROM regions WHERE id = ?", p.RegionID).Scan(&p.RegionName).Error; err != nil {
					return FeePolicy{}, false, err
				}
				return p, true, nil
			}
		}
	}
	return FeePolicy{}, false, nil
}

// policyForSchool is the fee policy in force for schoolID (ok false: none
// on its path; DefaultFeePolicy then applies).
func policyForSchool(q *gorm.DB, schoolID int64) (FeePolicy, bool, error) {
	var path string
	if err := q.Raw("SELECT r.path FROM schools s JOIN regions r ON r.id = s.region_id WHERE s.id = ?", schoolID).
		Scan(&path).Error; err != nil {
		return FeePolicy{}, false, err
	}
	return policyOnPath(q, path)
}

// effectivePolicy is policyForSchool with the default filled in.
func effectivePolicy(q *gorm.DB, schoolID int64) (FeePolicy, error) {
	p, ok, err := policyForSchool(q, schoolID)
	if err != nil || ok {
		return p, err
	}
	return DefaultFeePolicy(), nil
}

// feeAudit records a staff action on money inside tx.
func feeAudit(ctx context.Context, tx *gorm.DB, a Actor, action string, schoolID, regionID int64, object, detail string, at time.Time) error {
	ri := RequestInfoFrom(ctx)
	return tx.Exec(`INSERT INTO fee_audit (user_id, action, school_id, region_id, object, detail, request_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, nullID(a.UserID), action, nullID(schoolID), nullID(regionID), object, detail, ri.ID, at.UTC()).Error
}
