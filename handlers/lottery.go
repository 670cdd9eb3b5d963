package handlers

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

type lotteryRequest struct {
	// Seed is a number or, as draws answer it, a decimal string (an int64
	// does not survive a JavaScript number).
	Seed json.RawMessage `json:"seed"`
}

// seed parses the optional seed: absent or null means a fresh one.
func (r lotteryRequest) seed() (*int64, error) {
	raw := strings.Trim(strings.TrimSpace(string(r.Seed)), `"`)
	if raw == "" || raw == "null" {
		return nil, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil, &models.ValidationError{Fields: map[string]string{"seed": "seed 须为64位整数"}}
	}
	return &n, nil
}

// LotteryDTO is the answer of a draw.
type LotteryDTO struct {
	DrawID   int64  `json:"draw_id"`
	Seed     string `json:"seed"`
	Assigned int    `json:"assigned"`
	Rejected int    `json:"rejected"`
}

// RunLottery is POST /api/v1/schools/{id}/terms/{term_id}/lottery (school
// admin): draws the term's lottery offerings whose window has closed. The
// optional body {"seed": n} fixes the seed (to reproduce a draw).
func (h *API) RunLottery(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	termID, err := idParam(c, "term_id")
	if err != nil {
		return err
	}
	var in lotteryRequest
	if len(bytes.TrimSpace(c.Body())) > 0 {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	}
	seed, err := in.seed()
	if err != nil {
		return err
	}
	d, err := models.RunLottery(c.UserContext(), h.DB, CurrentActor(c), id, termID, seed)
	if err != nil {
		return err
	}
	return c.JSON(LotteryDTO{DrawID: d.ID, Seed: d.Seed, Assigned: d.Assigned, Rejected: d.Rejected})
}
