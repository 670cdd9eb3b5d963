package models_test

import (
	"strings"
	"testing"
	"time"

	"kehou/models"
)

func TestSurveyIsOpen(t *testing.T) {
	opens := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	s := models.Survey{OpensAt: opens, ClosesAt: opens.Add(time.Hour)}
	cases := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"beforeOpens", opens.Add(-time.Nanosecond), false},
		{"atOpens", opens, true},
		{"inside", opens.Add(30 * time.Minute), true},
		{"atCloses", opens.Add(time.Hour), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := s.IsOpen(c.at); got != c.want {
				t.Fatalf("IsOpen = %v", got)
			}
		})
	}
}

func TestValidateSurveyResponse(t *testing.T) {
	ok := models.NewSurveyResponse{StudentID: 1, Support: "neutral", Satisfaction: "basically_satisfied"}
	cases := []struct {
		name  string
		edit  func(*models.NewSurveyResponse)
		field string
	}{
		{"valid", func(*models.NewSurveyResponse) {}, ""},
		{"comment500", func(r *models.NewSurveyResponse) { r.Comment = strings.Repeat("好", 500) }, ""},
		{"comment501", func(r *models.NewSurveyResponse) { r.Comment = strings.Repeat("好", 501) }, "comment"},
		{"noStudent", func(r *models.NewSurveyResponse) { r.StudentID = 0 }, "student_id"},
		{"badSupport", func(r *models.NewSurveyResponse) { r.Support = "Support" }, "support"},
		{"badSatisfaction", func(r *models.NewSurveyResponse) { r.Satisfaction = "" }, "satisfaction"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := ok
			c.edit(&in)
			err := models.ValidateSurveyResponse(in)
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			ve, isVE := err.(*models.ValidationError)
			if !isVE || ve.Fields[c.field] == "" {
				t.Fatalf("got %v, want a message for %s", err, c.field)
			}
		})
	}
}
