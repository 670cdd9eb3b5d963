-- 0061: a spent refresh token presented again within 30 s answers the pair
-- its rotation issued (an answer lost on 4G). The spent row keeps the token
-- it issued sealed with a key only the spent token yields (models/token.go:
-- sealSuccessor); only the latest rotation of a family keeps one.
ALTER TABLE refresh_tokens ADD COLUMN next_sealed TEXT;
