package main

import (
	"fmt"
	"os"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"

	"kehou/models"
)

// TestSessionState: a session's status stays scheduled|cancelled (SPEC's
// contract), and its state says what became of it by the server's clock —
// a past session nobody took the roll of reads unmarked, not merely
// scheduled.
func TestSessionState(t *testing.T) {
	w := newAttWorld(t)
	held := w.session(t, w.club, "2030-11-05") // Tuesday: marked on the day
	w.setNow(sh(2030, 11, 5, 16, 40))
	w.mark(held, w.teacherTok, map[int64]string{w.kids[0].ID: "present"}, "").want(t, 200)
	w.setNow(sh(2030, 11, 7, 17, 0)) // Thursday, during the club
	cancelled := w.session(t, w.club, "2030-11-14")
	w.do("POST", fmt.Sprintf("/api/v1/sessions/%d/cancel", cancelled), w.adminTok, map[string]any{"reason": "期中考试"}).want(t, 200)
	r := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/sessions?from=2030-10-31&to=2030-11-14", w.club), w.adminTok, nil).want(t, 200)
	got := map[string][2]string{}
	for _, it := range r.JSON()["items"].([]any) {
		m := it.(map[string]any)
		got[m["date"].(string)] = [2]string{m["status"].(string), m["state"].(string)}
	}
	want := map[string][2]string{
		"2030-10-31": {models.SessionScheduled, models.SessionUnmarked},
		"2030-11-05": {models.SessionScheduled, models.SessionHeld},
		"2030-11-07": {models.SessionScheduled, models.SessionInProgress},
		"2030-11-12": {models.SessionScheduled, models.SessionUpcoming},
		"2030-11-14": {models.SessionCancelled, models.SessionCancelled},
	}
	for d, st := range want {
		if got[d] != st {
			t.Errorf("%s: status/state %v, want %v", d, got[d], st)
		}
	}
	t.Run("openapiEnum", func(t *testing.T) {
		// One vocabulary (STYLE 19): the spec lists exactly models.SessionStates.
		b, err := os.ReadFile("../openapi.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Components struct {
				Schemas map[string]struct {
					Properties map[string]struct {
						Enum []string `yaml:"enum"`
					} `yaml:"properties"`
				} `yaml:"schemas"`
			} `yaml:"components"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if got := doc.Components.Schemas["Session"].Properties["state"].Enum; !reflect.DeepEqual(got, models.SessionStates) {
			t.Fatalf("openapi Session.state enum %v, models.SessionStates %v", got, models.SessionStates)
		}
	})
	t.Run("roll", func(t *testing.T) {
		w.setNow(sh(2030, 11, 7, 18, 5))
		today := w.session(t, w.club, "2030-11-07")
		r := w.do("GET", fmt.Sprintf("/api/v1/sessions/%d/roll", today), w.teacherTok, nil).want(t, 200)
		if s := r.JSON()["session"].(map[string]any); s["state"] != models.SessionUnmarked || s["status"] != models.SessionScheduled {
			t.Fatalf("today's ended, unmarked session: %v", s)
		}
	})
}
