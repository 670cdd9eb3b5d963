-- 0042: lottery seeds committed before the draw. When a lottery offering is
-- published the server draws a random seed and stores it with its SHA-256;
-- the hash is shown on the offering from then on, the seed only after the
-- draw, which derives its order from the seeds of the offerings it draws
-- (models/lottery_seed.go). Nobody picks a seed after seeing applications.
ALTER TABLE offerings ADD COLUMN lottery_seed TEXT;
ALTER TABLE offerings ADD COLUMN seed_sha256 TEXT;
