package handlers

import (
	"bytes"
	"encoding/json"
	"sort"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

type lotteryRequest struct {
	// Seed is refused whatever its value: seeds are committed when an
	// offering is published (models/lottery_seed.go).
	Seed json.RawMessage `json:"seed"`
}

// LotteryDTO is the answer of a draw: the seed its order came from and the
// offerings' committed seeds it reveals, so anyone can check the draw.
type LotteryDTO struct {
	DrawID        int64             `json:"draw_id"`
	Seed          string            `json:"seed"`
	Assigned      int               `json:"assigned"`
	Rejected      int               `json:"rejected"`
	OfferingSeeds []OfferingSeedDTO `json:"offering_seeds"`
}

// OfferingSeedDTO is one offering's revealed seed and its commitment.
type OfferingSeedDTO struct {
	OfferingID int64  `json:"offering_id"`
	Seed       string `json:"seed"`
	SeedSHA256 string `json:"seed_sha256"`
}

// NewLotteryDTO maps a draw to its DTO.
func NewLotteryDTO(d models.Draw) LotteryDTO {
	out := LotteryDTO{DrawID: d.ID, Seed: d.Seed, Assigned: d.Assigned, Rejected: d.Rejected, OfferingSeeds: []OfferingSeedDTO{}}
	for id, seed := range d.OfferingSeeds() {
		out.OfferingSeeds = append(out.OfferingSeeds, OfferingSeedDTO{OfferingID: id, Seed: seed, SeedSHA256: models.SeedSHA256(seed)})
	}
	sort.Slice(out.OfferingSeeds, func(i, j int) bool { return out.OfferingSeeds[i].OfferingID < out.OfferingSeeds[j].OfferingID })
	return out
}

// RunLottery is POST /api/v1/schools/{id}/terms/{term_id}/lottery (school
// admin): draws the term's lottery offerings whose window has closed, from
// the seeds committed when they were published. A body naming a seed is 422.
func (h *API) RunLottery(c *fiber.Ctx) error {
	id, termID, err := schoolTermIDs(c)
	if err != nil {
		return err
	}
	var in lotteryRequest
	if len(bytes.TrimSpace(c.Body())) > 0 {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	}
	if s := string(bytes.TrimSpace(in.Seed)); s != "" && s != "null" {
		return models.ErrSeedNotAllowed
	}
	d, err := models.RunLottery(c.UserContext(), h.DB, CurrentActor(c), id, termID)
	if err != nil {
		return err
	}
	return c.JSON(NewLotteryDTO(d))
}
