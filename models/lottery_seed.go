package models

import (
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Lottery seeds are committed before anyone applies and revealed at the
// draw (SPEC "Trust rules"), so nobody — a school admin, a platform admin,
// the server's operator at the draw — can pick a seed after seeing the
// applications, and anyone can check a draw:
//
//  1. When a lottery offering is published, the server draws a seed of 32
//     random bytes (64 hex characters) and stores it with its SHA-256 (the
//     hex of SHA-256 over the 64 characters). Answers show seed_sha256 from
//     then on; the seed itself only once the offering is drawn.
//  2. A draw covers the term's lottery offerings whose window has closed.
//     Its order comes from DrawSeed over their seeds, in offering id order:
//     the first 8 bytes of SHA-256 over the seeds joined by "\n", read as a
//     big-endian integer and shifted right by one (a non-negative int64),
//     which seeds DrawOrder.
//  3. To check a draw: hash each revealed seed and compare it with the
//     seed_sha256 shown before the window closed, recompute DrawSeed, then
//     DrawOrder over the applicants and SerialDictatorship over their
//     preferences (both recorded in the draw's detail).

// NewCommittedSeed returns a fresh lottery seed and its SHA-256 (hex).
func NewCommittedSeed() (seed, sum string) {
	var b [32]byte
	_, _ = crand.Read(b[:])
	seed = hex.EncodeToString(b[:])
	return seed, SeedSHA256(seed)
}

// SeedSHA256 is the commitment of seed: the hex SHA-256 of its text.
func SeedSHA256(seed string) string {
	h := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(h[:])
}

// DrawSeed derives a draw's DrawOrder seed from the committed seeds of the
// offerings it draws, in offering id order (see the rules above).
func DrawSeed(seeds []string) int64 {
	h := sha256.Sum256([]byte(strings.Join(seeds, "\n")))
	return int64(binary.BigEndian.Uint64(h[:8]) >> 1)
}

// commitSeed gives offering id (a lottery offering just published) its seed
// unless it has one.
func commitSeed(tx *gorm.DB, id int64) error {
	seed, sum := NewCommittedSeed()
	return tx.Exec("UPDATE offerings SET lottery_seed = ?, seed_sha256 = ? WHERE id = ? AND mode = ? AND lottery_seed IS NULL",
		seed, sum, id, ModeLottery).Error
}

// drawSeeds returns the seeds of the offerings of a draw (sorted by id),
// committing one now for an offering published before seeds were committed
// (its detail marks it uncommitted).
func drawSeeds(tx *gorm.DB, offs []Offering, now time.Time) (seeds []string, byOffering map[int64]string, uncommitted []int64, err error) {
	byOffering = map[int64]string{}
	for i := range offs {
		o := &offs[i]
		if o.LotterySeed == nil || *o.LotterySeed == "" {
			seed, sum := NewCommittedSeed()
			if err := tx.Exec("UPDATE offerings SET lottery_seed = ?, seed_sha256 = ?, updated_at = ? WHERE id = ?",
				seed, sum, now, o.ID).Error; err != nil {
				return nil, nil, nil, err
			}
			o.LotterySeed, o.SeedSHA256 = &seed, &sum
			uncommitted = append(uncommitted, o.ID)
		}
		seeds = append(seeds, *o.LotterySeed)
		byOffering[o.ID] = *o.LotterySeed
	}
	return seeds, byOffering, uncommitted, nil
}

// RevealedSeed is the seed of offering o as answers may show it: only once
// the offering is drawn.
func (o Offering) RevealedSeed() *string {
	if o.DrawnAt == nil {
		return nil
	}
	return o.LotterySeed
}

// OfferingSeeds lists the seeds a draw revealed, offering id → seed.
func (d Draw) OfferingSeeds() map[int64]string {
	var detail DrawDetail
	_ = json.Unmarshal([]byte(d.Detail), &detail)
	return detail.Seeds
}
