package models_test

import (
	"testing"
	"time"

	"kehou/models"
)

func TestLoginBackoff(t *testing.T) {
	cases := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {1, 0}, {4, 0},
		{5, 5 * time.Second}, {6, 10 * time.Second}, {7, 20 * time.Second}, {8, 40 * time.Second},
		{12, 640 * time.Second}, {13, 15 * time.Minute}, {40, 15 * time.Minute}, {1 << 30, 15 * time.Minute},
	}
	for _, c := range cases {
		if got := models.LoginBackoff(c.failures); got != c.want {
			t.Errorf("LoginBackoff(%d) = %v, want %v", c.failures, got, c.want)
		}
	}
}
